# Sourced by infra/local/build.sh and infra/deploy.sh: which architecture to build the functions
# for. Sets `arch` (arm64 | x86-64, cargo lambda's flag), `triple` (the Rust target) and
# `template_arch` (the template's Architecture parameter).
#
# arm64 (the template's default) when the aarch64-unknown-linux-gnu target is installed, else
# x86-64 with a message saying so; HOOKLINE_ARCH=arm64|x86-64 forces one. Never downloads a Rust
# target: `cargo lambda build --arm64` would run `rustup target add` by itself.

target_installed() {
    command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx "$1"
}

arch=${HOOKLINE_ARCH:-}
if [[ -z "$arch" ]]; then
    if target_installed aarch64-unknown-linux-gnu; then
        arch=arm64
    else
        echo "arch: the aarch64-unknown-linux-gnu Rust target is not installed; building x86-64 instead" >&2
        echo "arch: (deploy with Architecture=x86_64). For arm64, the template's default, run" >&2
        echo "arch: 'rustup target add aarch64-unknown-linux-gnu' yourself." >&2
        arch=x86-64
    fi
fi
case "$arch" in
    arm64)  triple=aarch64-unknown-linux-gnu; template_arch=arm64 ;;
    x86-64) triple=x86_64-unknown-linux-gnu; template_arch=x86_64 ;;
    *) echo "arch: HOOKLINE_ARCH must be arm64 or x86-64, not '$arch'" >&2; exit 2 ;;
esac
if ! target_installed "$triple"; then
    echo "arch: Rust target $triple is not installed and will not be downloaded here;" >&2
    echo "arch: run 'rustup target add $triple' first." >&2
    exit 1
fi
