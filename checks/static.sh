#!/usr/bin/env bash
# Static checks of the deployable system: SAM template, IAM, state machine definitions, build.
#
#   bash checks/static.sh                    run every check; stop at the first failure
#   bash checks/static.sh --update-snapshot  also rewrite tests/security/translated-template.json
#   bash checks/static.sh --iam-lint-only    only the IAM lint, on the committed snapshot (make iam-lint)
#
# Idempotent: creates .venv-sam (requirements-sam.txt), .venv-checkov (requirements-checkov.txt)
# and node_modules (package-lock.json) when missing or when their pins changed, then runs, with
# AWS_DEFAULT_REGION=us-east-1 and no AWS credentials:
#   sam validate --lint; the translated template (sam validate --debug, to build/);
#   cfn-lint with the serverless rules on template.yaml and on the translated template;
#   asl-validator on both ASL files with their placeholders substituted (checks/substitute_asl.py);
#   checkov on template.yaml and on the translated template (.checkov.yaml); the committed snapshot
#   of the translated template, which tests/security reads; the IAM lint (parliament and
#   policy_sentry in .venv-iamlint, requirements-iamlint.txt: checks/iam_lint.py, justifications in
#   checks/iam-lint-allow.json); sam build; the ABI of the native code built into .aws-sam
#   (python3.13, arm64).
# Outputs: build/ (logs, translated template, substituted ASL) and .aws-sam/, both gitignored.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

UPDATE_SNAPSHOT=0
IAM_LINT_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --update-snapshot) UPDATE_SNAPSHOT=1 ;;
    --iam-lint-only) IAM_LINT_ONLY=1 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "static.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

SNAPSHOT=tests/security/translated-template.json
OUT=build/static
mkdir -p "$OUT"

# ------------------------------------------------------------------ environment: offline, no credentials
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_DEFAULT_PROFILE
export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0 SAM_CLI_DISABLE_UPDATE_CHECK=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# sam build needs python3.13 on PATH for the python3.13 runtime (pyenv: every installed version).
export PYENV_VERSION="${STATIC_PYENV_VERSION:-3.11.7:3.12.1:3.13.0}"
if command -v pyenv >/dev/null 2>&1; then PATH="$(pyenv root)/shims:$PATH"; fi
# sam reads no samconfig.toml here (a `lint = true` there would hide the translated template):
# every flag is given explicitly.
NO_SAMCONFIG="$ROOT/$OUT/no-samconfig.toml"
: > "$NO_SAMCONFIG"

# ------------------------------------------------------------------ reporting
SUMMARY=()
fail() {  # fail <step> <log> <message>
  echo
  echo "FAILED: $1"
  echo "  $3"
  if [[ -n "$2" && -s "$2" ]]; then
    echo "  --- last lines of $2 ---"
    tail -n 60 "$2" | sed 's/^/  | /'
  fi
  exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
# run_step <name> <hint on failure> <command...>: output goes to build/static/<slug>.log
run_step() {
  local name="$1" hint="$2"; shift 2
  local slug log start
  slug="$(echo "$name" | tr -c 'A-Za-z0-9\n' '-' | tr -s '-' | sed 's/-$//' | tr '[:upper:]' '[:lower:]')"
  log="$OUT/$slug.log"
  start="$(now)"
  printf '%-64s' "$name"
  # A subshell outside any `if`, so that `set -e` stops the step at its first failing command.
  local rc=0
  set +e
  ( set -Eeuo pipefail; "$@" ) >"$log" 2>&1
  rc=$?
  set -e
  if [[ "$rc" == 0 ]]; then
    local took; took="$(elapsed "$start")"
    echo "passed ($took)"
    SUMMARY+=("$(printf '%-64s passed  %s' "$name" "$took")")
  else
    echo "FAILED (exit $rc)"
    fail "$name" "$log" "$hint"
  fi
}

# ------------------------------------------------------------------ setup
find_python313() {
  local candidate
  for candidate in "${STATIC_PYTHON313:-}" "$(command -v pyenv >/dev/null 2>&1 && echo "$(pyenv root)/versions/3.13.0/bin/python")" \
                   /root/.pyenv/versions/3.13.0/bin/python python3.13; do
    [[ -n "$candidate" ]] || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

hash_of() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# ensure_venv <dir> <requirements file> <command that must work afterwards>
ensure_venv() {
  local dir="$1" requirements="$2" probe="$3" want stamp="$1/.requirements.sha256"
  want="$(hash_of "$requirements")"
  if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$dir/bin/$probe" ]]; then
    return 0
  fi
  local python
  python="$(find_python313)" || { echo "no Python 3.13 found (pyenv 3.13.0 or python3.13 on PATH)"; return 1; }
  echo "creating $dir with $python from $requirements"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet -r "$requirements"
  echo "$want" > "$stamp"
}

ensure_node_modules() {
  local want stamp=node_modules/.package-lock.sha256
  want="$(hash_of package.json package-lock.json)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x node_modules/.bin/asl-validator ]]; then
    return 0
  fi
  command -v npm >/dev/null || { echo "npm not found (Node 20 or later)"; return 1; }
  echo "installing node_modules from package-lock.json (npm ci)"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
}

setup() {
  # The venvs install in parallel (each about a minute from PyPI); their logs are kept apart.
  ensure_venv .venv-sam requirements-sam.txt sam >"$OUT/setup-venv-sam.log" 2>&1 &
  local sam_pid=$!
  ensure_venv .venv-checkov requirements-checkov.txt checkov >"$OUT/setup-venv-checkov.log" 2>&1 &
  local checkov_pid=$!
  ensure_venv .venv-iamlint requirements-iamlint.txt parliament >"$OUT/setup-venv-iamlint.log" 2>&1 &
  local iamlint_pid=$!
  local failed=0
  ensure_node_modules || failed=1
  wait "$sam_pid" || { echo "== .venv-sam failed:"; cat "$OUT/setup-venv-sam.log"; failed=1; }
  wait "$checkov_pid" || { echo "== .venv-checkov failed:"; cat "$OUT/setup-venv-checkov.log"; failed=1; }
  wait "$iamlint_pid" || { echo "== .venv-iamlint failed:"; cat "$OUT/setup-venv-iamlint.log"; failed=1; }
  cat "$OUT/setup-venv-sam.log" "$OUT/setup-venv-checkov.log" "$OUT/setup-venv-iamlint.log"
  [[ "$failed" == 0 ]]
  .venv-sam/bin/sam --version
  .venv-sam/bin/cfn-lint --version
  .venv-checkov/bin/checkov --version
  node_modules/.bin/asl-validator --version
}

SAM=.venv-sam/bin/sam
CFN_LINT=.venv-sam/bin/cfn-lint
SAM_PY=.venv-sam/bin/python
CHECKOV=.venv-checkov/bin/checkov

# ------------------------------------------------------------------ checks
sam_validate_lint() {
  "$SAM" validate --lint --template-file template.yaml --config-file "$NO_SAMCONFIG"
}

translate() {
  "$SAM" validate --debug --template-file template.yaml --config-file "$NO_SAMCONFIG" \
    2>"$OUT/sam-validate-debug.log"
  "$SAM_PY" checks/extract_translated.py "$OUT/sam-validate-debug.log" build/translated-template.json
  echo "wrote build/translated-template.json"
}

snapshot() {
  if [[ "$UPDATE_SNAPSHOT" == 1 ]]; then
    mkdir -p "$(dirname "$SNAPSHOT")"
    cp build/translated-template.json "$SNAPSHOT"
    echo "updated $SNAPSHOT"
    return 0
  fi
  [[ -f "$SNAPSHOT" ]] || { echo "$SNAPSHOT is missing"; return 1; }
  diff -u "$SNAPSHOT" build/translated-template.json
}

cfn_lint_template() { "$CFN_LINT" template.yaml -a cfn_lint_serverless.rules; }
cfn_lint_translated() { "$CFN_LINT" build/translated-template.json -a cfn_lint_serverless.rules; }

asl_validate() {
  rm -rf build/asl
  PYTHONPATH="$ROOT" "$SAM_PY" checks/substitute_asl.py --template template.yaml --out build/asl
  local files=(build/asl/*.asl.json) args=()
  for f in "${files[@]}"; do args+=(--json-path "$f"); done
  node_modules/.bin/asl-validator "${args[@]}"
}

checkov_on() { "$CHECKOV" --config-file .checkov.yaml -f "$1"; }

# parliament and policy_sentry over every policy of a translated template; each finding fixed or
# justified in checks/iam-lint-allow.json (a justification that matches nothing fails too).
iam_lint() {
  PYTHONPATH="$ROOT" PYTHONWARNINGS=ignore .venv-iamlint/bin/python checks/iam_lint.py --template "$1" --allow checks/iam-lint-allow.json
}

sam_build() {
  "$SAM" build --template-file template.yaml --build-dir .aws-sam/build --config-file "$NO_SAMCONFIG"
}

# Native code built into the functions and the layer must match the runtime (python3.13, arm64):
# a layer built for another Python breaks at run time and no other tool notices.
native_abi() {
  local bad=0 found=0 so
  while IFS= read -r so; do
    found=$((found + 1))
    case "$(basename "$so")" in
      *.cpython-313-aarch64-linux-gnu.so|*.abi3.so) ;;
      *) echo "wrong ABI for python3.13/arm64: $so"; bad=1 ;;
    esac
  done < <(find .aws-sam/build -name '*.so' -not -path '*/__pycache__/*')
  echo "$found native modules checked"
  [[ "$bad" == 0 ]]
}

# ------------------------------------------------------------------ run
echo "transient-analytics static checks (region $AWS_DEFAULT_REGION, no credentials)"
TOTAL_START="$(now)"
if [[ "$IAM_LINT_ONLY" == 1 ]]; then
  run_step "setup (.venv-iamlint)" "could not install the IAM linters (requirements-iamlint.txt)" \
    ensure_venv .venv-iamlint requirements-iamlint.txt parliament
  run_step "IAM lint: parliament + policy_sentry (snapshot)" \
    "IAM lint findings: fix the policy in template.yaml, or justify it in checks/iam-lint-allow.json" \
    iam_lint "$SNAPSHOT"
  printf '  %s\n' "${SUMMARY[@]}"
  exit 0
fi
run_step "setup (.venv-sam, .venv-checkov, .venv-iamlint, node_modules)" \
  "could not install the tools: see the log (network to PyPI/npm? Python 3.13?)" setup
run_step "sam validate --lint" \
  "sam validate --lint failed (it fails on cfn-lint warnings too)" sam_validate_lint
run_step "translated template (sam validate --debug)" \
  "could not get the translated template from sam validate --debug" translate
run_step "cfn-lint + serverless rules: template.yaml" \
  "cfn-lint found problems in template.yaml" cfn_lint_template
run_step "cfn-lint + serverless rules: translated template" \
  "cfn-lint found problems in the translated template (build/translated-template.json)" cfn_lint_translated
run_step "asl-validator (placeholders substituted)" \
  "the ASL files or their DefinitionSubstitutions are wrong" asl_validate
run_step "checkov: template.yaml" \
  "checkov failed checks on template.yaml: fix them, or justify a skip in .checkov.yaml / the resource's Metadata" \
  checkov_on template.yaml
run_step "checkov: translated template" \
  "checkov failed checks on the translated template: fix them, or justify a skip" \
  checkov_on build/translated-template.json
if [[ "$UPDATE_SNAPSHOT" == 1 ]]; then
  run_step "snapshot updated ($SNAPSHOT)" "could not write the snapshot" snapshot
else
  run_step "snapshot up to date ($SNAPSHOT)" \
    "the translated template changed: review the diff, then run: bash checks/static.sh --update-snapshot" snapshot
fi
run_step "IAM lint: parliament + policy_sentry (translated template)" \
  "IAM lint findings: fix the policy in template.yaml, or justify it in checks/iam-lint-allow.json" \
  iam_lint build/translated-template.json
run_step "sam build (python3.13, arm64)" \
  "sam build failed (python3.13 on PATH? PyPI reachable?)" sam_build
run_step "native modules match python3.13/arm64" \
  "a native module in .aws-sam/build was built for another Python or architecture" native_abi

echo
echo "Summary"
printf '  %s\n' "${SUMMARY[@]}"
echo "  all checks passed in $(elapsed "$TOTAL_START")"
