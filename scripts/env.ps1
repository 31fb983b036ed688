# Puts netlab's programs on PATH in this PowerShell window, so the walkthroughs' commands work as
# typed (Windows' counterpart of scripts/env). After `cargo build --release --workspace`:
#   . scripts\env.ps1
$netlabBin = Join-Path (Split-Path -Parent $PSScriptRoot) "target\release"
if (-not ($env:PATH -split ';' | Where-Object { $_ -eq $netlabBin })) {
    $env:PATH = "$netlabBin;$env:PATH"
}
if (-not (Test-Path (Join-Path $netlabBin "tcp-echo.exe"))) {
    Write-Warning "$netlabBin has no programs yet: run cargo build --release --workspace"
}
