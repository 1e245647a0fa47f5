; DeskML's Windows installer (NSIS 3). `installer/build nsis --bundle DIR` compiles it with:
;   VERSION       DeskML's version
;   BUNDLE        the Windows bundle: a folder with deskml.exe and its _internal folder
;   OUTFILE       the installer to write
;   ICONS         a folder with deskml.ico (the app) and deskml-model.ico (the model files)
;   FILETYPES     an include that calls Associate / Unassociate for each model file extension
; Per-user by default (no administrator needed); "Anyone who uses this computer" on the
; first page, or /AllUsers with /S, installs for all users.
Target amd64-unicode  ; a 64-bit installer for the 64-bit app
SetCompressor /SOLID lzma

!define APPNAME "DeskML"
!define PROGID "DeskML.Model"
!define REGKEY "Software\DeskML"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\DeskML"
!define UNINSTALLER "Uninstall DeskML.exe"

!define MULTIUSER_EXECUTIONLEVEL Highest
!define MULTIUSER_MUI
!define MULTIUSER_INSTALLMODE_COMMANDLINE
!define MULTIUSER_INSTALLMODE_DEFAULT_CURRENTUSER
!define MULTIUSER_INSTALLMODE_INSTDIR "DeskML"
!define MULTIUSER_USE_PROGRAMFILES64
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_KEY "${REGKEY}"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_VALUENAME "InstallMode"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_KEY "${REGKEY}"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_VALUENAME "InstallDir"
!include MultiUser.nsh
!include MUI2.nsh
!include LogicLib.nsh

Name "${APPNAME}"
OutFile "${OUTFILE}"
BrandingText "${APPNAME} ${VERSION}"
!define MUI_ICON "${ICONS}/deskml.ico"
!define MUI_UNICON "${ICONS}/deskml.ico"
!define MUI_FINISHPAGE_RUN
!define MUI_FINISHPAGE_RUN_TEXT "Open DeskML now"
!define MUI_FINISHPAGE_RUN_FUNCTION OpenAsUser

!insertmacro MULTIUSER_PAGE_INSTALLMODE
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APPNAME}"
VIAddVersionKey "FileDescription" "${APPNAME} installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "DeskML"

Function .onInit
  !insertmacro MULTIUSER_INIT
FunctionEnd

; Through Explorer, so that DeskML starts as the user even when the installer was elevated
; (an elevated window refuses files dragged from Explorer).
Function OpenAsUser
  Exec '"$WINDIR\explorer.exe" "$INSTDIR\deskml.exe"'
FunctionEnd

; An update: the earlier deskml.exe cannot be replaced while it runs, and a DeskML that was
; just closed may take a moment to let go of it. Wait up to 15 s, then ask (a silent install
; stops with an error instead of half replacing the app).
Function WaitForTheAppToClose
  StrCpy $R0 0
  ${DoWhile} ${FileExists} "$INSTDIR\deskml.exe"
    ClearErrors
    Delete "$INSTDIR\deskml.exe"
    ${IfNot} ${Errors}
      ${Break}
    ${EndIf}
    IntOp $R0 $R0 + 1
    ${If} $R0 >= 30
      MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION "DeskML is still open, so it cannot be updated.$\r$\n$\r$\nClose DeskML (every window), then click Retry." /SD IDCANCEL IDRETRY again
      Abort "DeskML is still open: close it, then run the installer again."
      again:
      StrCpy $R0 0
    ${EndIf}
    Sleep 500
  ${Loop}
FunctionEnd

Function un.onInit
  !insertmacro MULTIUSER_UNINIT
FunctionEnd

; A model file extension opens in DeskML: the extension's default is our file type (the one
; it had before is kept, and given back on uninstall), and DeskML is in its "Open with".
!macro Associate EXT
  ReadRegStr $0 SHCTX "Software\Classes\.${EXT}" ""
  ${If} $0 != ""
  ${AndIf} $0 != "${PROGID}"
    WriteRegStr SHCTX "Software\Classes\.${EXT}" "DeskML.Previous" "$0"
  ${EndIf}
  WriteRegStr SHCTX "Software\Classes\.${EXT}" "" "${PROGID}"
  WriteRegStr SHCTX "Software\Classes\.${EXT}\OpenWithProgids" "${PROGID}" ""
!macroend

!macro Unassociate EXT
  ReadRegStr $0 SHCTX "Software\Classes\.${EXT}" ""
  ${If} $0 == "${PROGID}"
    ReadRegStr $1 SHCTX "Software\Classes\.${EXT}" "DeskML.Previous"
    ${If} $1 != ""
      WriteRegStr SHCTX "Software\Classes\.${EXT}" "" "$1"
    ${Else}
      DeleteRegValue SHCTX "Software\Classes\.${EXT}" ""
    ${EndIf}
  ${EndIf}
  DeleteRegValue SHCTX "Software\Classes\.${EXT}" "DeskML.Previous"
  DeleteRegValue SHCTX "Software\Classes\.${EXT}\OpenWithProgids" "${PROGID}"
  DeleteRegKey /ifempty SHCTX "Software\Classes\.${EXT}\OpenWithProgids"
  DeleteRegKey /ifempty SHCTX "Software\Classes\.${EXT}"
!macroend

Section "DeskML"
  ; always a folder of its own: the bundle's _internal is a name every PyInstaller app uses
  ${GetFileName} "$INSTDIR" $0
  ${If} $0 != "DeskML"
    StrCpy $INSTDIR "$INSTDIR\DeskML"
  ${EndIf}
  Call WaitForTheAppToClose
  RMDir /r "$INSTDIR\_internal"  ; an update: no file of the earlier version is left among the new
  SetOutPath "$INSTDIR"
  File /r "${BUNDLE}/*"
  File "${ICONS}/deskml-model.ico"
  WriteUninstaller "$INSTDIR\${UNINSTALLER}"
  CreateShortcut "$SMPROGRAMS\DeskML.lnk" "$INSTDIR\deskml.exe" "" "$INSTDIR\deskml.exe" 0

  WriteRegStr SHCTX "Software\Classes\${PROGID}" "" "Machine-learning model"
  WriteRegStr SHCTX "Software\Classes\${PROGID}\DefaultIcon" "" "$INSTDIR\deskml-model.ico"
  WriteRegStr SHCTX "Software\Classes\${PROGID}\shell\open\command" "" '"$INSTDIR\deskml.exe" "%1"'
  !define ASSOCIATE "Associate"
  !include "${FILETYPES}"
  !undef ASSOCIATE

  WriteRegStr SHCTX "${REGKEY}" "InstallMode" $MultiUser.InstallMode
  WriteRegStr SHCTX "${REGKEY}" "InstallDir" "$INSTDIR"
  WriteRegStr SHCTX "${UNINSTKEY}" "DisplayName" "${APPNAME}"
  WriteRegStr SHCTX "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINSTKEY}" "Publisher" "DeskML"
  WriteRegStr SHCTX "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\deskml.exe"
  WriteRegStr SHCTX "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINSTKEY}" "UninstallString" '"$INSTDIR\${UNINSTALLER}" /$MultiUser.InstallMode'
  WriteRegStr SHCTX "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\${UNINSTALLER}" /$MultiUser.InstallMode /S'
  WriteRegDWORD SHCTX "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINSTKEY}" "NoRepair" 1
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'  ; SHCNE_ASSOCCHANGED
SectionEnd

Section "Uninstall"
  Delete "$SMPROGRAMS\DeskML.lnk"
  !define ASSOCIATE "Unassociate"
  !include "${FILETYPES}"
  !undef ASSOCIATE
  DeleteRegKey SHCTX "Software\Classes\${PROGID}"
  DeleteRegKey SHCTX "${UNINSTKEY}"
  ; only the installer's values: the app keeps its settings under the same key (DeskML\DeskML)
  DeleteRegValue SHCTX "${REGKEY}" "InstallMode"
  DeleteRegValue SHCTX "${REGKEY}" "InstallDir"
  DeleteRegKey /ifempty SHCTX "${REGKEY}"
  ; only what the installer put there: a folder the user chose is not emptied of their files
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\deskml.exe"
  Delete "$INSTDIR\deskml-model.ico"
  Delete "$INSTDIR\${UNINSTALLER}"
  RMDir "$INSTDIR"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
SectionEnd
