#!/bin/sh
# DeskML @VERSION@: a per-user installer for Linux, no administrator rights needed.
#
#   sh deskml-@VERSION@-linux.run               install (or update) for this user
#   sh deskml-@VERSION@-linux.run --uninstall   take it all away again
#
# It puts the app in ~/.local/share/deskml-app, the `deskml` command in ~/.local/bin, and makes
# DeskML the program that opens model files (.joblib, .pkl, .skops) on this desktop.
set -eu

data="${XDG_DATA_HOME:-$HOME/.local/share}"
config_home="${XDG_CONFIG_HOME:-$HOME/.config}"
mimeapps="$config_home/mimeapps.list"
bindir="$HOME/.local/bin"
home="$data/deskml-app"   # DeskML keeps your models apart, in $data/DeskML
app="$home/app"
manifest="$home/installed-files"   # "file PATH", "folder PATH" (made by it), "made mimeapps"
type=application/x-deskml-model

say() { printf '%s\n' "$*"; }
refresh() {
  # The desktop's caches. A MIME folder with no package left holds only the cache made from them.
  if [ -d "$data/mime" ] && { [ ! -d "$data/mime/packages" ] || [ -z "$(ls -A "$data/mime/packages")" ]; }; then
    rm -rf "$data/mime"
  elif [ -d "$data/mime/packages" ] && command -v update-mime-database >/dev/null 2>&1; then
    update-mime-database "$data/mime" >/dev/null 2>&1 || true
  fi
  if [ -d "$data/applications" ]; then
    if ls "$data/applications" | grep -q '\.desktop$'; then
      if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database "$data/applications" >/dev/null 2>&1 || true
      fi
    else
      rm -f "$data/applications/mimeinfo.cache"
    fi
  fi
}
made_dirs() {
  # mkdir -p, noting in the list each folder it made (uninstall removes those, and only those)
  dir=$1 new=""
  while [ ! -d "$dir" ]; do
    new="folder $dir
$new"
    dir=$(dirname "$dir")
  done
  mkdir -p "$1"
  [ -z "$new" ] || printf '%s' "$new" >> "$list"
}
desktop_entry() {
  # The entry with the app's full path in Exec, quoted and escaped as the desktop-entry spec asks.
  path=$(printf '%s' "$app/deskml" | sed -e 's/\\/\\\\\\\\/g' -e 's/["`$]/\\\\&/g' -e 's/%/%%/g')
  while IFS= read -r line; do
    case "$line" in
      "Exec=deskml %f") printf 'Exec="%s" %%f\n' "$path" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done
}
uninstall() {
  if [ ! -f "$manifest" ]; then
    say "DeskML is not installed for this user (nothing in $home)."
    return 0
  fi
  while IFS= read -r entry; do
    case "$entry" in "file "*) rm -f "${entry#file }" ;; esac
  done < "$manifest"
  if [ -f "$mimeapps" ] && grep -qx "$type=deskml\.desktop;\{0,1\}" "$mimeapps"; then
    sed -i --follow-symlinks "\|^$type=deskml\.desktop;\{0,1\}\$|d" "$mimeapps"
  fi
  if grep -qx "made mimeapps" "$manifest" && [ -f "$mimeapps" ] && ! grep -q '=' "$mimeapps"; then
    rm -f "$mimeapps"   # the installer's own, with nothing of the user's in it
  fi
  folders=$(sed -n 's/^folder //p' "$manifest" | sort -r)
  rm -rf "$home"
  refresh
  printf '%s\n' "$folders" | while IFS= read -r dir; do
    [ -z "$dir" ] || rmdir "$dir" 2>/dev/null || true   # deepest first; a folder in use stays
  done
  say "DeskML is uninstalled. Your models and prediction journals stay in $data/DeskML,"
  say "and your settings in $config_home/DeskML: delete those folders to remove them too."
}

case "${1:-}" in
  --uninstall) uninstall; exit 0 ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) say "Unknown option: $1 (use --uninstall to remove DeskML, or nothing to install it)."; exit 2 ;;
esac

for tool in tar xz; do
  command -v "$tool" >/dev/null 2>&1 || {
    say "The installer needs the '$tool' program to unpack DeskML. Install it with your distribution's"
    say "software tool (the package is called tar, or xz-utils / xz), then run the installer again."
    exit 1
  }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/deskml-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP   # so that the EXIT trap cleans up on Ctrl-C too
# Unpack and check the new version first: a damaged download leaves the installed one alone.
line=$(awk '/^__PAYLOAD_BELOW__$/ { print NR + 1; exit }' "$0")
mkdir "$tmp/files"
if ! tail -n +"$line" "$0" | xz -dc | tar -x -C "$tmp/files" 2>/dev/null || [ ! -x "$tmp/files/opt/deskml/deskml" ]; then
  say "This installer file is damaged (it could not be unpacked). Download it again."
  say "Nothing was changed."
  exit 1
fi

[ ! -f "$manifest" ] || uninstall >/dev/null   # an update replaces the earlier install; your data stays
rm -rf "$app"                                  # what an interrupted install may have left
list="$tmp/manifest"
: > "$list"
[ -f "$mimeapps" ] || printf 'made mimeapps\n' >> "$list"
made_dirs "$home"
made_dirs "$config_home"
mv "$tmp/files/opt/deskml" "$app"
# The desktop files (the .deb's /usr/share, without its doc).
(cd "$tmp/files/usr/share" && find . -type f ! -path './doc/*') > "$tmp/share-files"
while IFS= read -r file; do
  target="$data/${file#./}"
  made_dirs "$(dirname "$target")"
  if [ "$file" = "./applications/deskml.desktop" ]; then
    desktop_entry < "$tmp/files/usr/share/$file" > "$target"
  else
    cp "$tmp/files/usr/share/$file" "$target"
  fi
  printf 'file %s\n' "$target" >> "$list"
done < "$tmp/share-files"
made_dirs "$bindir"
command_note=""
if [ -e "$bindir/deskml" ] || [ -L "$bindir/deskml" ]; then
  command_note="($bindir/deskml is another program's and was left as it is; DeskML's is $app/deskml.)"
else
  ln -s "$app/deskml" "$bindir/deskml"
  printf 'file %s\n' "$bindir/deskml" >> "$list"
fi
mv "$list" "$manifest"
refresh
if command -v xdg-mime >/dev/null 2>&1; then
  xdg-mime default deskml.desktop "$type" 2>/dev/null || true
fi

say "DeskML @VERSION@ is installed for $(id -un)."
say "Open it from your applications menu, or double-click a model file (.joblib, .pkl, .skops)."
if [ -n "$command_note" ]; then
  say "$command_note"
else
  case ":$PATH:" in
    *":$bindir:"*) say "In a terminal, the command is: deskml" ;;
    *) say "In a terminal: $bindir/deskml" ;;
  esac
fi
exit 0
__PAYLOAD_BELOW__
