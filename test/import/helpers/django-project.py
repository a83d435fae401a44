# A real Django project (Debian's python3-django, with django-allauth's account app): made with
# `django-admin startproject`, migrated, given users through Django's own make_password with the
# hasher each user names (None: Django's default), groups and allauth e-mail addresses, then
# dumped with `manage.py dumpdata` (and the same users as a CSV of auth_user's columns).
# Usage: python3 django-project.py DIR < users.json; writes DIR/dump.json and DIR/users.csv.
import json, os, subprocess, sys

target = sys.argv[1]
os.makedirs(target, exist_ok=True)
users = json.load(sys.stdin)
py = sys.executable
subprocess.run(['django-admin', 'startproject', 'legacy', target], check=True)
settings = os.path.join(target, 'legacy', 'settings.py')
with open(settings, 'a') as f:
    f.write('''
INSTALLED_APPS += ['django.contrib.sites', 'allauth', 'allauth.account']
SITE_ID = 1
PASSWORD_HASHERS = [
    'django.contrib.auth.hashers.PBKDF2PasswordHasher',
    'django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher',
    'django.contrib.auth.hashers.Argon2PasswordHasher',
    'django.contrib.auth.hashers.BCryptSHA256PasswordHasher',
    'django.contrib.auth.hashers.BCryptPasswordHasher',
]
''')
manage = [py, os.path.join(target, 'manage.py')]
subprocess.run(manage + ['migrate', '--verbosity', '0'], check=True, cwd=target)
populate = '''
import csv, json
from django.contrib.auth.models import Group, User
from django.contrib.auth.hashers import make_password
from allauth.account.models import EmailAddress
users = json.loads(%r)
for u in users:
    if u.get('superuser'):
        user = User.objects.create_superuser(u['username'], u['email'], u['password'])
    else:
        user = User.objects.create(username=u['username'], email=u['email'], first_name=u.get('first_name', ''),
                                   last_name=u.get('last_name', ''), is_staff=u.get('is_staff', False), is_active=u.get('is_active', True),
                                   password=make_password(u['password'], hasher=u.get('hasher') or 'default'))
    if u.get('unusable'):
        user.set_unusable_password()
        user.save()
    for g in u.get('groups', []):
        user.groups.add(Group.objects.get_or_create(name=g)[0])
    if u['email']:
        EmailAddress.objects.create(user=user, email=u['email'], verified=u.get('verified', False), primary=True)
Group.objects.get_or_create(name='nobody-yet')
with open('users.csv', 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['username', 'password', 'email', 'first_name', 'last_name', 'is_active', 'is_staff', 'is_superuser', 'last_login', 'date_joined', 'groups', 'email_verified'])
    for user in User.objects.order_by('id'):
        verified = EmailAddress.objects.filter(user=user, verified=True).exists()
        w.writerow([user.username, user.password, user.email, user.first_name, user.last_name, user.is_active, user.is_staff, user.is_superuser,
                    user.last_login.isoformat() if user.last_login else '', user.date_joined.isoformat(), ';'.join(g.name for g in user.groups.all()), verified])
''' % json.dumps(users)
subprocess.run(manage + ['shell', '-c', populate], check=True, cwd=target)
subprocess.run(manage + ['dumpdata', 'auth.user', 'auth.group', 'account.emailaddress', '--indent', '2', '-o', 'dump.json'], check=True, cwd=target)
