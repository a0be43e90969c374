#!/usr/bin/env bash
# Install the cabinet on Raspberry Pi OS Lite (bookworm or later):
#
#   sudo hardware/rpi/install.sh [--dry-run] [--root DIR] [--source DIR]
#
# Idempotent: run it again after pulling a new version; it changes only what
# differs, says what it did, and leaves an existing /etc/kiosk/kiosk.toml alone.
#   --dry-run     print every action, do none of them
#   --root DIR    write every file under DIR instead of / (for tests). The
#                 commands it runs (apt-get, useradd, systemctl, udevadm, pip)
#                 are still the ones on PATH: tests put recording stubs there.
#   --source DIR  the project checkout to install (default: this script's own)
set -Eeuo pipefail

SERVICE=kiosk.service
SERVICE_USER=kiosk
SERVICE_GROUPS=(gpio dialout video input render)   # relay/door, serial ports, camera+DRM, touch, GPU
SLOTS=/opt/kiosk    # two installations, slot-a and slot-b (signed updates: docs/updates.md); the unit runs
CURRENT=$SLOTS/current   # this link's slot. A fresh install goes into slot-a; a new run, into the current slot.
CONF_DIR=/etc/kiosk
CONF=$CONF_DIR/kiosk.toml
DATA_DIR=/var/lib/kiosk
UNIT_DIR=/etc/systemd/system
UNIT_DST=$UNIT_DIR/$SERVICE
UPDATER_SERVICE=kiosk-updater.service   # root: installs a verified update into the other slot
UPDATER_PATH=kiosk-updater.path         # starts it when the program writes its request
RULES_DST=/etc/udev/rules.d/99-kiosk.rules
JOURNALD_DST=/etc/systemd/journald.conf.d/90-kiosk.conf
SWAP_SERVICE=dphys-swapfile.service
RELAY_GPIO=${RELAY_GPIO:-17}    # lock.relay_pin in kiosk.toml; set RELAY_GPIO=N when it differs

# What the Pi needs beyond hardware/system-packages.txt. The pygame-ce wheel
# bundles an SDL2 built with KMS/DRM support, but SDL loads the display stack
# at run time: libdrm, GBM, EGL and GLES2 (Mesa) and libudev (touch hotplug).
# picamera2 and lgpio come from Raspberry Pi OS: libcamera's Python bindings
# are not on PyPI, so the venv also sees the system site-packages.
PI_PACKAGES=(python3-venv libdrm2 libgbm1 libegl1 libgles2 libegl-mesa0 libudev1
             python3-lgpio python3-rpi.gpio python3-picamera2)

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HARDWARE=$(dirname "$HERE")
SOURCE=$(dirname "$HARDWARE")
ROOT=""
DRY_RUN=0
CHANGES=0
REBOOT_NEEDED=0

usage() { sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
say() { printf 'install: %s\n' "$*"; }
warn() { printf 'install: warning: %s\n' "$*" >&2; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }
# shellcheck disable=SC2154  # rc is assigned inside the trap
trap 'rc=$?; printf "install: error: line %s: %s failed (exit %s)\n" "$LINENO" "$BASH_COMMAND" "$rc" >&2; exit "$rc"' ERR

while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --root) (($# >= 2)) || die "--root needs a directory"; ROOT=$(cd "$2" 2>/dev/null && pwd) || die "--root $2: no such directory"; shift ;;
    --source) (($# >= 2)) || die "--source needs a directory"; SOURCE=$(cd "$2" 2>/dev/null && pwd) || die "--source $2: no such directory"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

# One action that changes the system: printed, then run (unless --dry-run).
act() {
  CHANGES=$((CHANGES + 1))
  if ((DRY_RUN)); then printf '[dry-run] %s\n' "$*"; return 0; fi
  printf '  + %s\n' "$*"
  "$@" || die "could not: $*"
}

# Replace (or create) a file's content, keeping a one-time backup as FILE.kiosk-orig.
write_text() {  # FILE WHAT CONTENT
  local file=$1 what=$2 content=$3
  CHANGES=$((CHANGES + 1))
  if ((DRY_RUN)); then printf '[dry-run] edit %s: %s\n' "$file" "$what"; return 0; fi
  printf '  + edit %s: %s\n' "$file" "$what"
  if [[ -e $file ]]; then
    [[ -e $file.kiosk-orig ]] || cp -p "$file" "$file.kiosk-orig"
    cp -p "$file" "$file.kiosk-new"                  # keeps owner and mode
  fi
  printf '%s\n' "$content" >"$file.kiosk-new"
  mv "$file.kiosk-new" "$file"
}

# Install SRC as DST with MODE when DST is missing or differs. Returns 0 if it changed.
install_file() {  # SRC DST MODE
  if [[ -f $2 ]] && cmp -s "$1" "$2"; then say "$2 is up to date"; return 1; fi
  act install -D -m "$3" "$1" "$2"
}

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

# --- checks before touching anything ------------------------------------------
preflight() {
  if ((!DRY_RUN)) && [[ -z $ROOT ]] && ((EUID != 0)); then
    die "run as root: sudo $0"
  fi
  [[ -f $SOURCE/setup.cfg && -d $SOURCE/firmware ]] || die "$SOURCE is not the project checkout (no setup.cfg and firmware/); pass --source DIR"
  need dpkg-query "this installs on Raspberry Pi OS / Debian"
  need apt-get "this installs on Raspberry Pi OS / Debian"
  need python3 "install python3 first: apt-get install python3"
  local os_release=$ROOT/etc/os-release codename=""
  # shellcheck disable=SC1090  # os-release is sourced as documented in os-release(5)
  [[ -r $os_release ]] && codename=$(. "$os_release" && printf '%s' "${VERSION_CODENAME:-}")
  case "$codename" in
    bookworm|trixie|forky) ;;
    "") warn "cannot tell the OS release from $os_release; expected Raspberry Pi OS bookworm or later" ;;
    *) warn "this is '$codename'; the cabinet is tested on Raspberry Pi OS bookworm and later" ;;
  esac
  say "installing from $SOURCE into ${ROOT:-/}$( ((DRY_RUN)) && printf ' (dry run: nothing is changed)')"
}

# --- Debian packages ----------------------------------------------------------
packages() {
  local wanted=() missing=() pkg
  mapfile -t wanted < <(grep -v '^\s*#' "$HARDWARE/system-packages.txt" | awk 'NF {print $1}')
  wanted+=("${PI_PACKAGES[@]}")
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then say "system packages are installed (${#wanted[@]})"; return; fi
  act apt-get update
  act env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# --- the service user ---------------------------------------------------------
has_line() { grep -qs "^$1:" "$2"; }               # NAME FILE: an entry in passwd/group
in_group() { awk -F: -v g="$1" -v u="$2" '$1 == g { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) found = 1 } END { exit !found }' "$ROOT/etc/group" 2>/dev/null; }
root_opt() { [[ -n $ROOT ]] && printf -- '--root\n%s\n' "$ROOT"; return 0; }

service_user() {
  local group opts=()
  mapfile -t opts < <(root_opt)
  for group in "${SERVICE_GROUPS[@]}"; do
    has_line "$group" "$ROOT/etc/group" || act groupadd --system "${opts[@]}" "$group"
  done
  if ! has_line "$SERVICE_USER" "$ROOT/etc/passwd"; then
    act useradd --system --user-group --no-create-home --home-dir "$DATA_DIR" --shell /usr/sbin/nologin \
      --groups "$(IFS=,; printf '%s' "${SERVICE_GROUPS[*]}")" "${opts[@]}" "$SERVICE_USER"
    return
  fi
  for group in "${SERVICE_GROUPS[@]}"; do
    in_group "$group" "$SERVICE_USER" || act usermod --append --groups "$group" "${opts[@]}" "$SERVICE_USER"
  done
  say "user $SERVICE_USER is in ${SERVICE_GROUPS[*]}"
}

# uid:gid of the service user (numeric, so it also works in a fake root), or its name in a dry run.
owner() { awk -F: -v u="$SERVICE_USER" '$1 == u {print $3 ":" $4; found = 1} END {exit !found}' "$ROOT/etc/passwd" 2>/dev/null || printf '%s:%s' "$SERVICE_USER" "$SERVICE_USER"; }
group_id() { awk -F: -v u="$SERVICE_USER" '$1 == u {print $4; found = 1} END {exit !found}' "$ROOT/etc/passwd" 2>/dev/null || printf '%s' "$SERVICE_USER"; }

ensure_dir() {  # DIR MODE OWNER
  local dir=$1 mode=$2 own=$3
  [[ -d $dir ]] || act mkdir -p "$dir"
  [[ -d $dir && $(stat -c '%u:%g' "$dir") == "$own" ]] || act chown "$own" "$dir"
  [[ -d $dir && $(stat -c '%a' "$dir") == "${mode#0}" ]] || act chmod "$mode" "$dir"
}

# --- the program: a venv under /opt/kiosk -------------------------------------
source_fingerprint() {  # changes whenever a file pip would install changes
  (cd "$SOURCE" && find setup.cfg pyproject.toml firmware hal kiosk_ui sync_client cloud_stub -type f \
     ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

current_slot() { if [[ -L $ROOT$CURRENT ]]; then readlink "$ROOT$CURRENT"; else printf 'slot-a'; fi; }

program() {
  local slot venv stamp fingerprint version
  slot=$(current_slot)
  venv=$ROOT$SLOTS/$slot stamp=$ROOT$SLOTS/$slot/.kiosk-source
  [[ -x $venv/bin/python ]] || act python3 -m venv --system-site-packages "$venv"
  fingerprint=$(source_fingerprint)
  if [[ -f $stamp && $(<"$stamp") == "$fingerprint" ]]; then
    say "$SLOTS/$slot has this version of the program"
  else
    act "$venv/bin/pip" install --quiet --upgrade "${SOURCE}[pi]"
    version=$(sed -n 's/^version *= *//p' "$SOURCE/setup.cfg")
    # the slot's release stamp, as the updater writes it: the version this slot holds whole
    ((DRY_RUN)) || printf '{"version": "%s"}\n' "$version" >"$venv/.kiosk-release"
    ((DRY_RUN)) || printf '%s\n' "$fingerprint" >"$stamp"
    PROGRAM_CHANGED=1
  fi
  [[ -L $ROOT$CURRENT ]] || act ln -s "$slot" "$ROOT$CURRENT"
  # the boot check (ExecStartPre): standard library only, run by the system's Python, outside the slots
  install_file "$SOURCE/firmware/updater/slots.py" "$ROOT$SLOTS/boot-check.py" 0644 || true
  # the slots are root's alone: the service user runs them and cannot change them; only kiosk-updater.service
  # (root) installs into the other slot and switches the link (an earlier install gave them to the service user)
  if [[ -n $(find "$ROOT$SLOTS" \( ! -user 0 -o -perm /022 \) ! -type l -print -quit 2>/dev/null) ]] ||
     [[ $(stat -c '%u' "$ROOT$SLOTS" 2>/dev/null) != 0 ]]; then
    act chown -R 0:0 "$ROOT$SLOTS"
    act chmod -R go-w "$ROOT$SLOTS"
  fi
}

# --- configuration and data ---------------------------------------------------
configuration() {
  ensure_dir "$ROOT$CONF_DIR" 0750 "0:$(group_id)"
  if [[ -e $ROOT$CONF ]]; then
    say "$CONF exists: kept as it is"
  else
    act install -m 0640 "$HERE/kiosk.toml.template" "$ROOT$CONF"
    act chown "0:$(group_id)" "$ROOT$CONF"
  fi
  ensure_dir "$ROOT$DATA_DIR" 0700 "$(owner)"
}

# --- boot settings: no console blanking, the UART, the relay off at power-on ---
boot_settings() {
  local boot="" cmdline config line new token tokens=() kept=()
  for boot in "$ROOT/boot/firmware" "$ROOT/boot" ""; do [[ -z $boot || -f $boot/cmdline.txt ]] && break; done
  if [[ -z $boot ]]; then
    warn "no cmdline.txt under /boot/firmware or /boot: console blanking and the UART are left as they are"
    return
  fi
  cmdline=$boot/cmdline.txt config=$boot/config.txt
  IFS= read -r line <"$cmdline" || true
  read -r -a tokens <<<"$line"
  for token in "${tokens[@]}"; do
    case "$token" in
      consoleblank=*) ;;                                        # re-added below as consoleblank=0
      console=serial0,*|console=ttyAMA0,*|console=ttyS0,*) ;;   # the serial console would talk over the PN532
      *) kept+=("$token") ;;
    esac
  done
  new="${kept[*]} consoleblank=0"
  new=${new# }
  if [[ $new == "$line" ]]; then
    say "$cmdline: console blanking is off, no serial console"
  else
    write_text "$cmdline" "consoleblank=0, no serial console" "$new"
    REBOOT_NEEDED=1
  fi
  # The UART for the PN532 HAT, and the relay's input driven high (off, for an active-low
  # board) by the firmware from power-on: the pin's default pull-down would otherwise hold
  # the relay on, and the door open, until the cabinet starts.
  local wanted=("enable_uart=1" "gpio=$RELAY_GPIO=op,dh") want stale=0 kept_lines
  for want in "${wanted[@]}"; do grep -qsxF "$want" "$config" || stale=1; done
  if ((!stale)); then
    say "$config: UART enabled, relay GPIO$RELAY_GPIO driven high from power-on"
    return
  fi
  # Earlier settings of the same keys go; ours are appended under [all], so that no model
  # filter above ([pi4], [cm4], ...) applies to them.
  kept_lines=""
  if [[ -f $config ]]; then kept_lines=$(grep -v -e '^enable_uart=' -e "^gpio=$RELAY_GPIO=" "$config" || true); fi
  write_text "$config" "${wanted[*]}" "$(printf '%s\n[all]\n' "$kept_lines" | sed '/./,$!d'; printf '%s\n' "${wanted[@]}")"
  REBOOT_NEEDED=1
}

# --- the SD card: fewer writes, so that it lasts (README: "SD-card life") ----------
sd_card() {
  journal_in_ram
  root_noatime
  no_swap_on_card
}

journal_in_ram() {  # the journal in RAM, bounded: no log line written to the card
  if install_file "$HARDWARE/systemd/journald-kiosk.conf" "$ROOT$JOURNALD_DST" 0644 && [[ -z $ROOT ]]; then
    act systemctl restart systemd-journald
  fi
}

# fstab with noatime on the root file system's entry (relatime and friends dropped); other lines kept as they are.
fstab_noatime() {  # FSTAB
  awk '
    /^[[:space:]]*#/ || NF < 4 || $2 != "/" { print; next }
    {
      n = split($4, opts, ","); kept = ""; has = 0
      for (i = 1; i <= n; i++) {
        if (opts[i] == "noatime") has = 1
        else if (opts[i] ~ /^(atime|relatime|strictatime|norelatime)$/) continue
        kept = kept (kept == "" ? "" : ",") opts[i]
      }
      if (has && kept == $4) { print; next }
      $4 = kept (kept == "" ? "" : ",") "noatime"
      print
    }' "$1"
}

root_noatime() {  # no write to the card for reading a file
  local fstab=$ROOT/etc/fstab new
  if [[ ! -f $fstab ]]; then
    warn "no $fstab: mount the root file system with noatime yourself"
    return
  fi
  new=$(fstab_noatime "$fstab")
  if [[ $new == "$(<"$fstab")" ]]; then
    say "$fstab: / is mounted noatime"
    return
  fi
  write_text "$fstab" "noatime on /" "$new"
  if [[ -z $ROOT ]]; then act mount -o remount,noatime /; fi
}

no_swap_on_card() {  # Raspberry Pi OS swaps to a file on the card; the cabinet fits in RAM without it
  local opts=()
  mapfile -t opts < <(root_opt)
  if systemctl "${opts[@]}" is-enabled --quiet "$SWAP_SERVICE" 2>/dev/null; then
    if [[ -z $ROOT ]]; then act dphys-swapfile swapoff; fi
    act systemctl "${opts[@]}" disable "$SWAP_SERVICE"
  else
    say "no swap file on the card ($SWAP_SERVICE is not enabled)"
  fi
  # the file is removed once no swap uses it (in a --root install, the live system's /proc/swaps is not its own)
  if [[ -f $ROOT/var/swap ]] && { [[ -n $ROOT ]] || ! grep -qs '^/var/swap[[:space:]]' /proc/swaps; }; then
    act rm -f "$ROOT/var/swap"
  fi
}

# --- udev rules and the systemd unit ------------------------------------------
udev_rules() {
  if install_file "$HARDWARE/udev/99-kiosk.rules" "$ROOT$RULES_DST" 0644; then
    act udevadm control --reload
    act udevadm trigger --subsystem-match=tty --action=change
  fi
}

service() {
  local opts=() unit_changed=0
  mapfile -t opts < <(root_opt)
  install_file "$HARDWARE/systemd/kiosk.service" "$ROOT$UNIT_DST" 0644 && unit_changed=1
  # the installer of signed updates (root), started when the program asks (docs/updates.md)
  install_file "$HARDWARE/systemd/$UPDATER_SERVICE" "$ROOT$UNIT_DIR/$UPDATER_SERVICE" 0644 && unit_changed=1
  install_file "$HARDWARE/systemd/$UPDATER_PATH" "$ROOT$UNIT_DIR/$UPDATER_PATH" 0644 && unit_changed=1
  if ((unit_changed)) && [[ -z $ROOT ]]; then act systemctl daemon-reload; fi
  for unit in "$SERVICE" "$UPDATER_PATH"; do
    if systemctl "${opts[@]}" is-enabled --quiet "$unit" 2>/dev/null; then
      say "$unit is enabled"
    else
      act systemctl "${opts[@]}" enable "$unit"
    fi
  done
  # An upgrade of a running cabinet takes effect now; a new one starts after provisioning.
  if [[ -z $ROOT ]] && ((unit_changed || PROGRAM_CHANGED)) && systemctl is-active --quiet "$SERVICE" 2>/dev/null; then
    act systemctl restart "$SERVICE"
  fi
}

PROGRAM_CHANGED=0
preflight
packages
service_user
program
configuration
boot_settings
sd_card
udev_rules
service

if ((DRY_RUN)); then
  say "dry run: $CHANGES action(s) would be taken"
elif ((CHANGES == 0)); then
  say "nothing to do: everything is in place"
else
  say "done: $CHANGES change(s)"
fi
((REBOOT_NEEDED)) && say "reboot for the boot settings (cmdline.txt, config.txt) to take effect: sudo reboot"
cat <<EOF
install: next: the checklist in hardware/README.md, "From a blank SD card to selling", from step 4
  (wire, flash the lock board, provision, configure, self-test, first sale). Until the cabinet is
  provisioned and configured, its screen says "Technician needed" and what is missing;
  sudo $CURRENT/bin/kiosk doctor says it too.
EOF
