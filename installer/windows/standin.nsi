; A small stand-in for deskml.exe, to test the installer under Wine (the real program is a
; Windows PyInstaller bundle, which cannot be built on Linux): it writes the command line it
; was started with to opened.txt next to itself, and exits (after STAY ms, when given: an app
; still open during an update).
Target amd64-unicode  ; a 64-bit installer for the 64-bit app
OutFile "${OUTFILE}"
SilentInstall silent
RequestExecutionLevel user
Section
  FileOpen $0 "$EXEDIR\opened.txt" w
  FileWrite $0 "$CMDLINE"
  FileClose $0
!ifdef STAY
  Sleep ${STAY}
!endif
SectionEnd
