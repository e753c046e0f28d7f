#!/usr/bin/env bash
# The IAM figures of BENCHMARKS.md, measured in one run on this machine:
#   - `mfad mfa enroll` end to end against moto server's IAM and STS: the IAM part (from
#     the start to the device enabled), and the whole (until the first session, which
#     waits for the next code step because the two enabling codes are spent);
#   - `mfad audit` of an account of 1000 users (moto), next to the AWS CLI v2 only
#     generating and fetching the credential report (two invocations).
# Needs: hyperfine, awscli (Debian, v2), gnome-keyring, dbus, moto[server], boto3.
# Everything runs on 127.0.0.1 in a private D-Bus session with a throwaway home.
set -euo pipefail

source "$(dirname "$0")/harness.sh"

ENROLLS=${ENROLLS:-5}
USERS=${USERS:-1000}
AUDIT_RUNS=${AUDIT_RUNS:-10}

export MOTO="http://127.0.0.1:$port"

echo "== mfad mfa enroll, $ENROLLS users, each from no MFA to a first session"
python3 - <<'PY'
import boto3, os, statistics, subprocess, time
moto, mfad, config = os.environ["MOTO"], os.environ["MFAD"], os.environ["AWS_CONFIG_FILE"]
iam = boto3.client("iam", endpoint_url=moto, region_name="us-east-1",
                   aws_access_key_id="AKIAADMIN", aws_secret_access_key="admin")
iam_part, whole = [], []
for n in range(int(os.environ.get("ENROLLS", "5"))):
    user = f"enrol{n}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    with open(config, "a") as f:
        f.write(f"[profile {user}]\nregion = us-east-1\nendpoint_url = {moto}\n"
                f"credential_process = {mfad} process {user}\n\n")
    subprocess.run([mfad, "add", user], check=True, capture_output=True,
                   input=f"{key['AccessKeyId']}\n{key['SecretAccessKey']}\n", text=True)
    start = time.monotonic()
    run = subprocess.Popen([mfad, "mfa", "enroll", user], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    for line in run.stdout:
        if line.startswith("enabled "):
            iam_part.append(time.monotonic() - start)
    assert run.wait() == 0, run.stderr.read()
    whole.append(time.monotonic() - start)
print(f"IAM part (GetUser, ListMFADevices, Create, Enable): median {statistics.median(iam_part)*1000:.1f} ms "
      f"(min {min(iam_part)*1000:.1f}, max {max(iam_part)*1000:.1f})")
print(f"whole, to the first session: median {statistics.median(whole):.2f} s "
      f"(min {min(whole):.2f}, max {max(whole):.2f}; the wait for the next 30 s code step dominates)")
PY

echo "== an account of $USERS users"
python3 - <<'PY'
import boto3, json, os
moto = os.environ["MOTO"]
users = int(os.environ.get("USERS", "1000"))
iam = boto3.client("iam", endpoint_url=moto, region_name="us-east-1",
                   aws_access_key_id="AKIAADMIN", aws_secret_access_key="admin")
deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": "iam:*MFA*",
    "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]})
policy = iam.create_policy(PolicyName="require-mfa", PolicyDocument=deny)["Policy"]["Arn"]
for g in range(10):
    iam.create_group(GroupName=f"team{g}")
    if g % 2 == 0:
        iam.attach_group_policy(GroupName=f"team{g}", PolicyArn=policy)
for n in range(users):
    name = f"user{n:04d}"
    iam.create_user(UserName=name)
    iam.create_access_key(UserName=name)
    if n % 2 == 0:
        iam.create_login_profile(UserName=name, Password="Correct-Horse-1")
    if n % 3 == 0:
        iam.add_user_to_group(GroupName=f"team{n % 10}", UserName=name)
    if n % 4 == 0:
        d = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
        iam.enable_mfa_device(UserName=name, SerialNumber=d["SerialNumber"],
                              AuthenticationCode1="123456", AuthenticationCode2="234567")
PY
cat >>"$AWS_CONFIG_FILE" <<CONFIG
[profile admin]
region = us-east-1
endpoint_url = $MOTO
CONFIG
printf '[admin]\naws_access_key_id = AKIAADMIN\naws_secret_access_key = admin\n' >"$AWS_SHARED_CREDENTIALS_FILE"
"$MFAD" audit --profile admin --json >"$WORK/audit.json" || test $? -eq 1
python3 -c "
import json; a = json.load(open('$WORK/audit.json'))
print(f\"audit: {a['users']} users, {len(a['findings'])} findings\")"

hyperfine --runs "$AUDIT_RUNS" --warmup 1 -N --export-json "$WORK/audit-times.json" \
  -n "mfad audit ($USERS users)" "$MFAD audit --profile admin --json" -i \
  -n "aws iam generate-credential-report + get-credential-report" \
  "sh -c 'aws iam generate-credential-report --profile admin >/dev/null && aws iam get-credential-report --profile admin >/dev/null'"
python3 -c "
import json
for r in json.load(open('$WORK/audit-times.json'))['results']:
    print(f\"{r['command']}: median {r['median']*1000:.0f} ms\")"
