#!/usr/bin/env bash
# Benchmark of the FTP lab (docs/ftp.md): RETR and STOR of a 1 GiB file over loopback with curl
# as the client, ftp-lab (release build) against vsftpd (the Debian package), plus ftp-lab's
# peak resident memory during the transfers (VmHWM from /proc, the kernel's own high-water mark), and
# each server's CPU time per GiB moved (steadier than the rates when the client is the bottleneck).
#
# Usage: labs/ftp/bench/bench-vs-vsftpd.sh [SIZE_MIB]      (default 1024, i.e. 1 GiB)
#   RUNS=7            rounds; each round downloads and uploads once with each server, the two
#                     servers taking turns, so a slow moment of the machine hits both alike.
#                     The table shows the median and the range.
#   FTP_LAB=path      the ftp-lab binary (default target/release/ftp-lab, built if missing)
#   TLS=1             also over explicit FTPS (RFC 4217: AUTH TLS, PBSZ 0, PROT P): both servers
#                     get the same self-signed RSA certificate (made with openssl), curl runs
#                     with --ssl-reqd --insecure, and each round measures four: each server in
#                     clear and protected. The report adds what TLS costs each server.
#
# Needs curl, vsftpd and python3 (to find a free port). vsftpd runs in the foreground from a
# temporary config (listen=YES, background=NO) as the launching user, anonymous with uploads to
# incoming/; ftp-lab runs with a bench:bench account. Both serve the same file from the page cache
# (it was just written) and write uploads to the same file system. Linux only (/proc).
set -euo pipefail

SIZE_MIB=${1:-1024}
RUNS=${RUNS:-7}
repo=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${FTP_LAB:-$repo/target/release/ftp-lab}

TLS=${TLS:-0}
tools="curl vsftpd python3"
[ "$TLS" = 1 ] && tools="$tools openssl"
for tool in $tools; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench needs $tool (apt-get install $tool)" >&2; exit 1; }
done
if [ ! -x "$BIN" ]; then
  (cd "$repo" && cargo build --release -p ftp-lab)
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

busy_compilers() { pgrep -c -x rustc 2>/dev/null || true; }

# bytes/s -> MiB/s with one decimal.
mib() { awk -v rate="$1" 'BEGIN { printf "%.1f", rate / 1048576 }'; }

# The median of the numbers in file $1: the middle one, or with an even count the mean of the
# middle two (as `ftp-lab bench` does), so a rate and a CPU time of the same row are comparable.
median() {
  sort -n "$1" | awk '{ v[NR] = $1 }
    END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# "min-max" of the numbers in file $1, in MiB/s.
spread() { sort -n "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f-%.0f", lo / 1048576, hi / 1048576 }'; }

mkdir -p "$work/root/incoming" && chmod 777 "$work/root/incoming"
echo "writing a ${SIZE_MIB} MiB file of random bytes..."
dd if=/dev/urandom of="$work/root/big.bin" bs=1M count="$SIZE_MIB" status=none
size_bytes=$((SIZE_MIB * 1048576))

# The CPU time a server has used so far, in clock ticks (user + system, /proc/PID/stat fields 14
# and 15). vsftpd serves each session in processes of its own (forked, and forking again); when
# they end, the listener collects them and the kernel adds their CPU time to its fields 16 and 17,
# so for vsftpd we first wait until the session's processes are gone.
server_ticks() {
  local pid=$1
  if [ "$pid" = "$vsftpd_pid" ]; then
    for _ in $(seq 1 400); do
      pgrep -P "$pid" >/dev/null || break
      sleep 0.01
    done
    awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pid/stat"
  else
    awk '{ print $14 + $15 }' "/proc/$pid/stat"
  fi
}

# Seconds of server CPU per GiB moved, from ticks before and after one transfer. The kernel
# counts CPU time in clock ticks (usually 1/100 s), so the figure has steps of 0.01 s per
# transfer: 0.01 s/GiB for a 1 GiB file, 0.04 for 256 MiB, 0.16 for 64 MiB. Use 1 GiB (the
# default) when the CPU columns matter.
cpu_per_gib() {
  awk -v ticks=$(( $2 - $1 )) -v hz="$(getconf CLK_TCK)" -v bytes="$size_bytes" \
    'BEGIN { printf "%.3f\n", ticks / hz / (bytes / 1073741824) }'
}

# one_run NAME PID GET_URL PUT_URL [CURL_ARGS...]: one download and one upload (to
# incoming/up.bin) from the server whose process is PID; appends the rates (bytes/s) to
# $work/NAME.get and $work/NAME.put, the server's CPU seconds per GiB to $work/NAME.get-cpu and
# $work/NAME.put-cpu, and checks the stored file.
one_run() {
  local name=$1 pid=$2 get_url=$3 put_url=$4 rate before uploaded="$work/root/incoming/up.bin"
  shift 4
  before=$(server_ticks "$pid")
  rate=$(curl -sS "$@" --max-time 600 -o /dev/null -w '%{speed_download}' "$get_url")
  echo "$rate" >>"$work/$name.get"
  cpu_per_gib "$before" "$(server_ticks "$pid")" >>"$work/$name.get-cpu"
  echo "  $name RETR: $(mib "$rate") MiB/s, server CPU $(tail -1 "$work/$name.get-cpu") s/GiB"
  rm -f "$uploaded"
  before=$(server_ticks "$pid")
  rate=$(curl -sS "$@" --max-time 600 -T "$work/root/big.bin" -w '%{speed_upload}' "$put_url")
  echo "$rate" >>"$work/$name.put"
  cpu_per_gib "$before" "$(server_ticks "$pid")" >>"$work/$name.put-cpu"
  echo "  $name STOR: $(mib "$rate") MiB/s, server CPU $(tail -1 "$work/$name.put-cpu") s/GiB"
  cmp -s "$uploaded" "$work/root/big.bin" || { echo "$name: the upload differs from the source" >&2; exit 1; }
  rm -f "$uploaded"
}

compilers_before=$(busy_compilers)

# One certificate for both servers, so both do the same handshake (RSA 2048) and curl is free to
# pick the same cipher with each; the negotiated one is printed with the results.
lab_tls=()
curl_tls=(--ssl-reqd --insecure)
if [ "$TLS" = 1 ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  lab_tls=(--tls-cert "$work/cert.pem" --tls-key "$work/key.pem")
fi

# --- ftp-lab ---------------------------------------------------------------------------------
"$BIN" serve --root "$work/root" --port 0 --user bench:bench ${lab_tls[@]+"${lab_tls[@]}"} >"$work/ftp-lab.log" 2>&1 &
lab_pid=$!
pids+=("$lab_pid")
addr=""
for _ in $(seq 1 200); do
  addr=$(sed -n 's/^listening on //p' "$work/ftp-lab.log" | head -1)
  [ -n "$addr" ] && break
  sleep 0.05
done
[ -n "$addr" ] || { echo "ftp-lab did not start:" >&2; cat "$work/ftp-lab.log" >&2; exit 1; }

# --- vsftpd ----------------------------------------------------------------------------------
port=$(free_port)
mkdir -p "$work/empty"
{
  echo "listen=YES"
  echo "listen_ipv6=NO"
  echo "background=NO"
  echo "listen_address=127.0.0.1"
  echo "listen_port=$port"
  echo "anonymous_enable=YES"
  echo "no_anon_password=YES"
  echo "anon_root=$work/root"
  echo "write_enable=YES"
  echo "anon_upload_enable=YES"
  echo "anon_other_write_enable=YES"
  echo "anon_umask=022"
  echo "local_enable=NO"
  echo "run_as_launching_user=YES"
  echo "seccomp_sandbox=NO"
  echo "isolate=NO"
  echo "isolate_network=NO"
  echo "xferlog_enable=NO"
  echo "secure_chroot_dir=$work/empty"
  if [ "$TLS" = 1 ]; then
    # FTPS offered, not forced, so the same server also measures clear FTP. vsftpd's own
    # default cipher list (DES-CBC3-SHA) is one OpenSSL 3 no longer offers: HIGH lets it
    # negotiate what curl asks for, as ftp-lab does. Session reuse on the data connection is
    # not required: ftp-lab does not require it either (Python's ftplib never reuses).
    echo "ssl_enable=YES"
    echo "allow_anon_ssl=YES"
    echo "force_anon_logins_ssl=NO"
    echo "force_anon_data_ssl=NO"
    echo "require_ssl_reuse=NO"
    echo "ssl_ciphers=HIGH"
    echo "rsa_cert_file=$work/cert.pem"
    echo "rsa_private_key_file=$work/key.pem"
  fi
} >"$work/vsftpd.conf"
vsftpd "$work/vsftpd.conf" >"$work/vsftpd.log" 2>&1 &
vsftpd_pid=$!
pids+=("$vsftpd_pid")
for _ in $(seq 1 200); do
  curl -s -o /dev/null "ftp://127.0.0.1:$port/" && break
  sleep 0.05
done

# --- the runs, taking turns --------------------------------------------------------------------
if [ "$TLS" = 1 ]; then
  for server in "ftp-lab bench:bench@$addr" "vsftpd 127.0.0.1:$port"; do
    set -- $server
    # curl -v says which protocol and cipher the control connection agreed on.
    agreed=$(curl -sS -v "${curl_tls[@]}" "ftp://$2/" -o /dev/null 2>&1 \
      | sed -n 's/.*SSL connection using //p' | head -1)
    echo "$1 FTPS: ${agreed:-(curl did not say)}" | tee -a "$work/agreed"
  done
fi
for run in $(seq 1 "$RUNS"); do
  echo "round $run of $RUNS"
  one_run ftp-lab "$lab_pid" "ftp://$addr/big.bin" "ftp://bench:bench@$addr/incoming/up.bin"
  one_run vsftpd "$vsftpd_pid" "ftp://127.0.0.1:$port/big.bin" "ftp://127.0.0.1:$port/incoming/up.bin"
  if [ "$TLS" = 1 ]; then
    one_run ftp-lab-tls "$lab_pid" "ftp://bench:bench@$addr/big.bin" "ftp://bench:bench@$addr/incoming/up.bin" "${curl_tls[@]}"
    one_run vsftpd-tls "$vsftpd_pid" "ftp://127.0.0.1:$port/big.bin" "ftp://127.0.0.1:$port/incoming/up.bin" "${curl_tls[@]}"
  fi
done
lab_hwm=$(awk '/^VmHWM/ { print $2, $3 }' "/proc/$lab_pid/status")
compilers_after=$(busy_compilers)

# --- report ----------------------------------------------------------------------------------
echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
echo "curl $(curl --version | head -1 | cut -d' ' -f2), vsftpd $(dpkg-query -W -f='${Version}' vsftpd 2>/dev/null || echo '(version unknown)')"
echo "${SIZE_MIB} MiB file, $RUNS rounds; rustc processes running: $compilers_before before, $compilers_after after"
echo
echo "| server  | RETR MiB/s (median) | RETR range | STOR MiB/s (median) | STOR range | server CPU s/GiB RETR | STOR | peak RSS (VmHWM) |"
echo "|---------|-------:|-------:|-------:|-------:|-------:|-------:|------------------|"
row() {
  echo "| $1 | $(mib "$(median "$work/$1.get")") | $(spread "$work/$1.get") | $(mib "$(median "$work/$1.put")") | $(spread "$work/$1.put") | $(median "$work/$1.get-cpu") | $(median "$work/$1.put-cpu") | $2 |"
}
row ftp-lab "$lab_hwm (all rows)"
row vsftpd "not measured (a process per session)"
if [ "$TLS" = 1 ]; then
  row ftp-lab-tls "(above)"
  row vsftpd-tls "not measured"
  echo
  cat "$work/agreed"
  # What TLS costs: the protected median as a share of the clear one, per server and direction.
  share() { awk -v p="$(median "$work/$1.$3")" -v c="$(median "$work/$2.$3")" 'BEGIN { printf "%.2f", p / c }'; }
  echo
  echo "FTPS rate / clear rate: ftp-lab RETR $(share ftp-lab-tls ftp-lab get), STOR $(share ftp-lab-tls ftp-lab put); vsftpd RETR $(share vsftpd-tls vsftpd get), STOR $(share vsftpd-tls vsftpd put)"
  echo "ftp-lab FTPS / vsftpd FTPS: RETR $(share ftp-lab-tls vsftpd-tls get), STOR $(share ftp-lab-tls vsftpd-tls put)"
fi
