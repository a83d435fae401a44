# Password hashes made by other people's code, for the import tests: Django's own hashers
# (make_password with each PASSWORD_HASHERS entry), Debian's python3-bcrypt, and Keycloak-style
# credentials computed with hashlib / argon2-cffi from Keycloak's published parameters.
# Reads {"password": ...} on stdin; prints one JSON object of named hashes.
import base64, hashlib, json, os, sys

import django
from django.conf import settings

settings.configure(PASSWORD_HASHERS=[
    'django.contrib.auth.hashers.PBKDF2PasswordHasher',
    'django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher',
    'django.contrib.auth.hashers.Argon2PasswordHasher',
    'django.contrib.auth.hashers.BCryptSHA256PasswordHasher',
    'django.contrib.auth.hashers.BCryptPasswordHasher',
])
django.setup()
from django.contrib.auth.hashers import make_password
import bcrypt
from argon2.low_level import hash_secret_raw, Type

password = json.load(sys.stdin)['password']
pw = password.encode('utf-8')
out = {}
for name in ['pbkdf2_sha256', 'pbkdf2_sha1', 'argon2', 'bcrypt_sha256', 'bcrypt']:
    out['django_' + name] = make_password(password, hasher=name)

# Django 4's ScryptPasswordHasher (not in Debian 12's Django 3.2): its encode(), with hashlib.scrypt.
salt = base64.b64encode(os.urandom(12)).decode().rstrip('=').replace('+', 'a').replace('/', 'b')
key = hashlib.scrypt(pw, salt=salt.encode(), n=2 ** 14, r=8, p=1, dklen=64)
out['django_scrypt'] = 'scrypt$%d$%s$%d$%d$%s' % (2 ** 14, salt, 8, 1, base64.b64encode(key).decode())

b = bcrypt.hashpw(pw, bcrypt.gensalt(rounds=4)).decode()
out['bcrypt_2b'] = b
out['bcrypt_2a'] = bcrypt.hashpw(pw, bcrypt.gensalt(rounds=4, prefix=b'2a')).decode()
out['bcrypt_2y'] = '$2y$' + b[4:]  # PHP's spelling of the same algorithm

def kc_pbkdf2(digest, iterations, key_bytes):
    s = os.urandom(16)
    v = hashlib.pbkdf2_hmac(digest, pw, s, iterations, key_bytes)
    return {'value': base64.b64encode(v).decode(), 'salt': base64.b64encode(s).decode(), 'iterations': iterations}

out['keycloak_pbkdf2_sha256'] = kc_pbkdf2('sha256', 27500, 64)
out['keycloak_pbkdf2_sha512'] = kc_pbkdf2('sha512', 210000, 64)
s = os.urandom(16)
v = hash_secret_raw(pw, s, time_cost=5, memory_cost=7168, parallelism=1, hash_len=32, type=Type.ID, version=19)
out['keycloak_argon2'] = {'value': base64.b64encode(v).decode(), 'salt': base64.b64encode(s).decode(), 'iterations': 5}
json.dump(out, sys.stdout)
