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
bindir="$HOME/.local/bin"
home="$data/deskml-app"   # DeskML keeps your models apart, in $data/DeskML
app="$home/app"
manifest="$home/installed-files"
type=application/x-deskml-model

say() { printf '%s\n' "$*"; }
refresh() {
  # The desktop's caches. Where we left a folder with nothing of anyone else's, it goes.
  if [ -d "$data/mime" ] && { [ ! -d "$data/mime/packages" ] || [ -z "$(ls -A "$data/mime/packages")" ]; }; then
    rm -rf "$data/mime"   # no package left: all that is there is the cache made from them
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
prune() {
  # Empty folders the installer made, from the deepest up; others' folders are not empty.
  for dir in "$@"; do
    while [ "$dir" != "$HOME" ] && [ -d "$dir" ] && [ -z "$(ls -A "$dir")" ]; do
      rmdir "$dir"
      dir=$(dirname "$dir")
    done
  done
}
uninstall() {
  if [ ! -f "$manifest" ]; then
    say "DeskML is not installed for this user (nothing in $home)."
    return 0
  fi
  while IFS= read -r file; do
    rm -f "$file"
    prune "$(dirname "$file")"
  done < "$manifest"
  rm -rf "$home"
  config="${XDG_CONFIG_HOME:-$HOME/.config}/mimeapps.list"
  if [ -f "$config" ]; then
    sed -i "\|^$type=deskml.desktop;\?\$|d" "$config"
    if ! grep -q '=' "$config"; then rm -f "$config"; fi
  fi
  refresh
  prune "$data/applications" "$data/icons/hicolor" "$bindir" "$(dirname "$config")"
  say "DeskML is uninstalled. Your models and prediction journals stay in $data/DeskML,"
  say "and your settings in ${XDG_CONFIG_HOME:-$HOME/.config}/DeskML: delete those folders to remove them too."
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

[ -f "$manifest" ] && uninstall >/dev/null   # an update replaces the earlier install
tmp=$(mktemp -d "${TMPDIR:-/tmp}/deskml-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
line=$(awk '/^__PAYLOAD_BELOW__$/ { print NR + 1; exit }' "$0")
tail -n +"$line" "$0" | xz -dc | tar -x -C "$tmp" || {
  say "This installer file is damaged (it could not be unpacked). Download it again."
  exit 1
}

mkdir -p "$home" "$bindir"
mv "$tmp/opt/deskml" "$app"
: > "$manifest"
# The desktop files (the .deb's /usr/share, without its doc), with the app's full path in
# the entry: ~/.local/bin may not be on the desktop's PATH.
(cd "$tmp/usr/share" && find . -type f ! -path './doc/*') | while IFS= read -r file; do
  target="$data/${file#./}"
  mkdir -p "$(dirname "$target")"
  if [ "$file" = "./applications/deskml.desktop" ]; then
    sed "s|^Exec=deskml %f\$|Exec=\"$app/deskml\" %f|" "$tmp/usr/share/$file" > "$target"
  else
    cp "$tmp/usr/share/$file" "$target"
  fi
  printf '%s\n' "$target" >> "$manifest"
done
ln -sfn "$app/deskml" "$bindir/deskml"
printf '%s\n' "$bindir/deskml" >> "$manifest"
refresh
if command -v xdg-mime >/dev/null 2>&1; then
  xdg-mime default deskml.desktop "$type" 2>/dev/null || true
fi

say "DeskML @VERSION@ is installed for $(id -un)."
say "Open it from your applications menu, or double-click a model file (.joblib, .pkl, .skops)."
case ":$PATH:" in
  *":$bindir:"*) say "In a terminal, the command is: deskml" ;;
  *) say "In a terminal: $bindir/deskml" ;;
esac
exit 0
__PAYLOAD_BELOW__
