"""Print the RFC 6238 code of a base32 seed: an `mfa_process` for tests.

Usage: totp_code.py SEED PERIOD [STEPS_AHEAD]; STEPS_AHEAD = 1 gives the code the device
shows next (what a person who waited for a fresh code types)."""
import base64, hashlib, hmac, struct, sys, time

seed, period = sys.argv[1], int(sys.argv[2])
ahead = int(sys.argv[3]) if len(sys.argv) > 3 else 0
counter = int(time.time()) // period + ahead
digest = hmac.new(base64.b32decode(seed), struct.pack(">Q", counter), hashlib.sha1).digest()
offset = digest[-1] & 0x0F
value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
print(f"{value % 1000000:06d}")
