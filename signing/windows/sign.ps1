# Signs one file (the Tauri bundler calls this for every binary and installer) with signtool, from
# a PFX given in WINDOWS_CERTIFICATE (base64) and WINDOWS_CERTIFICATE_PASSWORD. Without them it
# signs nothing and says so.
param([Parameter(Mandatory = $true)][string]$File)
$ErrorActionPreference = 'Stop'
if (-not $env:WINDOWS_CERTIFICATE) {
  Write-Host "sign.ps1: WINDOWS_CERTIFICATE is not set; $File stays unsigned"
  exit 0
}
$pfx = Join-Path $env:RUNNER_TEMP 'grove-signing.pfx'
[IO.File]::WriteAllBytes($pfx, [Convert]::FromBase64String($env:WINDOWS_CERTIFICATE))
try {
  $signtool = Get-ChildItem "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" |
    Sort-Object FullName -Descending | Select-Object -First 1
  & $signtool.FullName sign /fd sha256 /td sha256 /tr http://timestamp.digicert.com `
    /f $pfx /p $env:WINDOWS_CERTIFICATE_PASSWORD $File
  if ($LASTEXITCODE -ne 0) { throw "signtool failed on $File" }
} finally {
  Remove-Item $pfx -Force -ErrorAction SilentlyContinue
}
