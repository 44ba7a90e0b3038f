#!/usr/bin/env bash
# Installs Sightline into .venv/ on a fresh Debian machine with Python 3.11,
# with the Debian packages it needs and the default model.
#   scripts/install.sh          runtime only
#   scripts/install.sh --dev    also the test tools and test peers (RTSP server)
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1

DEBS=(ffmpeg opencv-doc fonts-wqy-microhei)
# npm and venv may come from elsewhere (NodeSource, pyenv): only ask Debian when missing.
command -v npm >/dev/null || DEBS+=(npm)
python3 -m venv --help >/dev/null 2>&1 || DEBS+=(python3-venv)
if [[ $DEV == 1 ]]; then
  # GStreamer's RTSP server, driven by Debian's python3-gi, is the test camera.
  DEBS+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
         gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools
         # Real peers for the platform tests: browser, MQTT broker, PostgreSQL.
         chromium mosquitto postgresql)
fi

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""
  [[ $(id -u) != 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
if [[ $DEV == 1 ]]; then
  .venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
else
  .venv/bin/python -m pip install -q -e . 2>&1 | grep -v "^WARNING: Location" || true
fi
.venv/bin/python -c "import sightline, av, onnxruntime, cv2" # fail here, clearly, if the install did not work
.venv/bin/sightline models fetch
