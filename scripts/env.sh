# shellcheck shell=bash
# Set up (if needed) and enter the dynofa_ros environment. Source it: `source scripts/env.sh`.
#
# 1. a Python 3.11 virtual environment at $DYNOFA_VENV (default: ~/.cache/dynofa_ros/venv; it must
#    live outside the source tree, or CMake refuses the wheels' include paths) with the pinned
#    requirements.txt, installed only when requirements.txt changed since the last install;
# 2. the ROS 2 kilted wheels' CMake files pointed at this venv's Python and numpy headers;
# 3. `colcon build --merge-install` of this package into <repo>/install, only when a build input
#    changed since the last build;
# 4. the variables that make the install space usable (what install/setup.bash would do).
# Every step is idempotent; a second run with nothing changed installs and builds nothing.

_dynofa_fail() { echo "dynofa_ros setup: $*" >&2; return 1; }

_dynofa_setup() {
  local repo venv py req_sha stamp
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="${DYNOFA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/dynofa_ros/venv}"

  # --- 1. virtual environment ------------------------------------------------------------
  if [ ! -x "$venv/bin/python" ]; then
    py="${DYNOFA_PYTHON:-}"
    if [ -z "$py" ]; then
      for cand in python3.11 python3; do
        if command -v "$cand" >/dev/null 2>&1 && \
           "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
          py="$cand"; break
        fi
      done
    fi
    [ -n "$py" ] || _dynofa_fail "Python 3.11 is required (the ROS 2 kilted wheels are cp311);" \
      "set DYNOFA_PYTHON to its path" || return 1
    echo "dynofa_ros setup: creating virtual environment $venv" >&2
    mkdir -p "$(dirname "$venv")" && "$py" -m venv "$venv" || return 1
  fi
  req_sha="$( (cat "$repo/requirements.txt" "$repo/scripts/env.sh") | sha256sum | cut -d' ' -f1)"
  stamp="$venv/.dynofa-requirements.sha256"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$req_sha" ]; then
    echo "dynofa_ros setup: installing pinned requirements into $venv (first run: a few minutes)" >&2
    (
      flock 9
      {
        "$venv/bin/python" -m pip install --disable-pip-version-check 'pip==26.3' &&
        "$venv/bin/python" -m pip install --disable-pip-version-check \
          -r "$repo/requirements.txt"
      } > "$venv/.dynofa-pip.log" 2>&1 || { tail -n 30 "$venv/.dynofa-pip.log" >&2; exit 1; }
      _dynofa_fix_cmake_paths "$venv"
    ) 9>"$venv/.dynofa-install.lock" ||
      _dynofa_fail "pip install failed (log: $venv/.dynofa-pip.log)" || return 1
    echo "$req_sha" > "$stamp"
  fi

  # --- 4. environment (before the build: colcon and CMake need it too) ------------------
  _dynofa_export_env "$repo" "$venv"

  # --- 3. build --------------------------------------------------------------------------
  _dynofa_build "$repo" "$venv" || return 1
}

_dynofa_fix_cmake_paths() {
  # The wheels were built in a manylinux image; their CMake exports name its Python paths.
  local venv="$1" pyinc npinc
  pyinc="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  npinc="$("$venv/bin/python" -c 'import numpy; print(numpy.get_include())')"
  # grep finds nothing once fixed (exit 1): that is success here, also under pipefail.
  { grep -rlZ --include='*.cmake' '/opt/python/cp311-cp311' "$venv/share" "$venv/lib/cmake" \
    2>/dev/null || true; } | xargs -0 -r sed -i \
      -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$npinc#g" \
      -e "s#/opt/python/cp311-cp311/include/python3.11#$pyinc#g"
}

_dynofa_export_env() {
  local repo="$1" venv="$2" site
  site="$repo/install/lib/python3.11/site-packages"
  export VIRTUAL_ENV="$venv"
  case ":$PATH:" in *":$venv/bin:"*) ;; *) export PATH="$venv/bin:$PATH" ;; esac
  # The package's executables (run_system, param, topic, bag, demo...), after everything else.
  case ":$PATH:" in *":$repo/install/lib/dynofa_ros:"*) ;;
    *) export PATH="$PATH:$repo/install/lib/dynofa_ros" ;; esac
  export DYNOFA_REPO="$repo"
  export DYNOFA_INSTALL="$repo/install"
  export AMENT_PREFIX_PATH="$repo/install:$venv"
  export CMAKE_PREFIX_PATH="$repo/install:$venv"
  case ":${PYTHONPATH:-}:" in *":$site:"*) ;; *) export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" ;; esac
  case ":${LD_LIBRARY_PATH:-}:" in *":$repo/install/lib:"*) ;;
    *) export LD_LIBRARY_PATH="$repo/install/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;; esac
  # Large images between processes: shared memory + TCP instead of UDP fragments (DESIGN.md 2).
  export FASTDDS_BUILTIN_TRANSPORTS="${FASTDDS_BUILTIN_TRANSPORTS:-LARGE_DATA}"
  # This environment is a workstation's: discover peers on this machine only (no multicast on the
  # network). On a robot, ROS's own setup decides.
  export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
  export RCUTILS_COLORIZED_OUTPUT="${RCUTILS_COLORIZED_OUTPUT:-0}"
}

_dynofa_build() {
  local repo="$1" venv="$2" src_sha stamp
  # The venv is an input too: the executables' shebangs name its Python.
  src_sha="$( (cd "$repo" && echo "$venv" && find CMakeLists.txt package.xml setup.py msg dynofa_ros \
      launch config resource -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum) |
      sha256sum | cut -d' ' -f1)"
  stamp="$repo/install/.dynofa-build.sha256"
  [ "$(cat "$stamp" 2>/dev/null)" = "$src_sha" ] && return 0
  echo "dynofa_ros setup: colcon build" >&2
  (
    cd "$repo" &&
    colcon --log-base "$repo/log" build --merge-install --base-paths "$repo" \
      --build-base "$repo/build" --install-base "$repo/install" \
      --event-handlers console_direct- \
      --cmake-args -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF \
      > "$repo/log/last_build.txt" 2>&1 ||
    { tail -n 40 "$repo/log/last_build.txt" >&2; false; }
  ) || { mkdir -p "$repo/log"; _dynofa_fail "colcon build failed (log/last_build.txt)"; return 1; }
  echo "$src_sha" > "$stamp"
}

mkdir -p "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/log"
_dynofa_setup
