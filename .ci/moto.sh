#!/usr/bin/env bash
# Starts moto's S3 server on 127.0.0.1:5055 for warden-objects' S3 tests (they must run
# under CI=true). Idempotent: installs moto[server] only when missing or too old, starts
# the server only when nothing answers on the port, then waits until it answers.
set -euo pipefail

host=127.0.0.1
port="${WARDEN_MOTO_PORT:-5055}"
log=/tmp/warden-moto.log
url="http://$host:$port/"

answers() { curl -s -o /dev/null --max-time 2 "$url"; }

if answers; then
  echo "== moto: already answering at $url"
  exit 0
fi

# 5.2.5 or later: some earlier 5.x releases answer CompleteMultipartUpload with the wrong
# XML root element (getmoto/moto#10055), which aws-sdk-s3 rightly refuses.
moto_ok() {
  python3 - <<'PY' 2>/dev/null
import moto, moto.server
version = tuple(int(p) for p in moto.__version__.split(".")[:3])
raise SystemExit(0 if (5, 2, 5) <= version < (6,) else 1)
PY
}
if ! moto_ok; then
  echo "== installing moto[server] 5.x, 5.2.5 or later (warden-objects' S3 tests)"
  python3 -m pip install -q 'moto[server]>=5.2.5,<6'
fi

# The module rather than the moto_server script: the same Python that was checked above.
echo "== starting moto $(python3 -c 'import moto; print(moto.__version__)') at $url (log $log)"
nohup python3 -m moto.server -H "$host" -p "$port" >"$log" 2>&1 &

for _ in $(seq 1 60); do
  if answers; then
    echo "== moto: answering at $url"
    exit 0
  fi
  sleep 0.5
done
echo "== moto did not answer at $url within 30 s; its log:" >&2
tail -n 40 "$log" >&2 || true
exit 1
