# shellcheck shell=bash
# Enter the dynofa_ros environment: `source scripts/env.sh`. It only sets variables and writes
# nothing; scripts/setup creates the venv and builds (scripts/test and scripts/demo run it first).
#
# DYNOFA_VENV   the virtual environment (default ~/.cache/dynofa_ros/venv, outside the tree)
# DYNOFA_REPO   this checkout; DYNOFA_INSTALL its colcon install space (<repo>/install)
# plus what install/setup.bash would set (PATH, PYTHONPATH, AMENT_PREFIX_PATH, ...) and the
# DDS settings of a workstation (discovery on this machine only, large-data transports).

_dynofa_env() {
  local repo venv site
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="${DYNOFA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/dynofa_ros/venv}"
  site="$repo/install/lib/python3.11/site-packages"
  export DYNOFA_VENV="$venv"
  export DYNOFA_REPO="$repo"
  export DYNOFA_INSTALL="$repo/install"
  export VIRTUAL_ENV="$venv"
  case ":$PATH:" in *":$venv/bin:"*) ;; *) export PATH="$venv/bin:$PATH" ;; esac
  # The package's executables (run_system, param, topic, bag, demo...), after everything else.
  case ":$PATH:" in *":$repo/install/lib/dynofa_ros:"*) ;;
    *) export PATH="$PATH:$repo/install/lib/dynofa_ros" ;; esac
  export AMENT_PREFIX_PATH="$repo/install:$venv"
  export CMAKE_PREFIX_PATH="$repo/install:$venv"
  case ":${PYTHONPATH:-}:" in *":$site:"*) ;;
    *) export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" ;; esac
  case ":${LD_LIBRARY_PATH:-}:" in *":$repo/install/lib:"*) ;;
    *) export LD_LIBRARY_PATH="$repo/install/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;; esac
  # Large images between processes: the package's FastDDS profile (shared-memory segments that
  # hold whole frames; docs/nodes.md#frame-delivery). LARGE_DATA only applies without a profile.
  if [ -z "${FASTDDS_DEFAULT_PROFILES_FILE:-}${FASTRTPS_DEFAULT_PROFILES_FILE:-}" ] && \
     [ "${DYNOFA_DDS_PROFILE:-on}" != off ]; then
    export FASTDDS_DEFAULT_PROFILES_FILE="$repo/config/dds/fastdds_profiles.xml"
  fi
  export FASTDDS_BUILTIN_TRANSPORTS="${FASTDDS_BUILTIN_TRANSPORTS:-LARGE_DATA}"
  # This environment is a workstation's: discover peers on this machine only (no multicast on the
  # network). On a robot, ROS's own setup decides.
  export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
  export RCUTILS_COLORIZED_OUTPUT="${RCUTILS_COLORIZED_OUTPUT:-0}"
  if [ ! -x "$venv/bin/python" ]; then
    echo "dynofa_ros: no environment at $venv yet; run scripts/setup" >&2
  fi
}

_dynofa_env
unset -f _dynofa_env
