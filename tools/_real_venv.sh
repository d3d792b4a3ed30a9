# Sourced by the validation and differential tools: create the environment with the
# real language (triton and torch for the CPU, or jax) beside the project's own .venv.
# The project and its tests never use it. Usage: source tools/_real_venv.sh triton|jax
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
which_one="${1:?triton or jax}"
real_venv="$root/.venv-$which_one"
case "$which_one" in
    # torch 2.13.0 is the CPU build; a plain `torch` would fetch a CUDA build of several GB
    triton) packages=(torch==2.13.0 triton numpy) ;;
    jax) packages=(jax jaxlib numpy) ;;
    *) echo "unknown environment: $which_one (triton or jax)" >&2; exit 2 ;;
esac
real_stamp="$real_venv/.installed"
if [ ! -f "$real_stamp" ] || [ "$root/pyproject.toml" -nt "$real_stamp" ]; then
    echo "Installing ${packages[*]} into $real_venv (a few minutes, once)..." >&2
    [ -x "$real_venv/bin/python" ] || python3 -m venv "$real_venv"
    "$real_venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null
    "$real_venv/bin/python" -m pip install --quiet "${packages[@]}"
    "$real_venv/bin/python" -m pip install --quiet -e "$root"
    touch "$real_stamp"
fi
# the checkout these tools run from, even where the environment was made for another
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
