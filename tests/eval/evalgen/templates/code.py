"""Code and configuration pasted into a prompt: secrets in env files, YAML, JSON, code, logs.

Only the secret itself is labelled (a password inside a connection string, the key after
`API_KEY=`), never the variable name, host or user name around it. Logs also carry the personal
data that real logs leak (e-mail addresses, IPs, names in error messages).
"""

TEMPLATES = {
    "dotenv": (
        "⟨why does my app not pick up these vars?|Fix my .env please:|what's wrong here⟩\n\n"
        "DATABASE_URL=<<db_url>>\nOPENAI_API_KEY=<<api_key>>\nDEBUG=false\nPORT=<<port>>\n"
    ),
    "aws_credentials": (
        "I get AccessDenied with this ~/.aws/credentials, any idea?\n\n[default]\naws_access_key_id = <<aws_access_key>>\n"
        "aws_secret_access_key = <<aws_secret_key>>\nregion = ⟨eu-west-1|us-east-1|ap-southeast-2⟩\n"
    ),
    "python_client": (
        "```python\nimport requests\n\nAPI_KEY = \"<<api_key>>\"\nresp = requests.get(\"https://api.⟨vendor|payments|maps⟩.example/v1/items\", "
        "headers={\"Authorization\": f\"Bearer {API_KEY}\"})\nprint(resp.status_code)\n```\nWhy do I get 401?"
    ),
    "k8s_secret": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ⟨billing|orders|auth⟩-db\nstringData:\n  username: ⟨app|svc|admin⟩\n"
        "  password: <<password>>\n  url: <<db_url>>\n---\nIs this the right way to mount it?"
    ),
    "docker_compose": (
        "services:\n  db:\n    image: postgres:⟨15|16|17⟩\n    environment:\n      POSTGRES_PASSWORD: <<password>>\n"
        "  api:\n    environment:\n      - STRIPE_KEY=<<api_key>>\n      - JWT_SECRET=<<secret>>\n"
    ),
    "private_key_paste": "My SSH key stopped working after the upgrade, here it is:\n\n<<private_key>>\n\nwhat format is this?",
    "jwt_debug": "Decode this token and tell me why it's expired: <<jwt>>",
    "curl": (
        "curl -X POST https://api.⟨internal|partner⟩.example.net/v2/users -H \"Authorization: Bearer <<api_key>>\" "
        "-d '{\"email\": \"<<user.email>>\", \"name\": \"<<user.full>>\"}'\nreturns 422, why?"
    ),
    "json_config": (
        "{\n  \"service\": \"⟨mailer|sync|reports⟩\",\n  \"smtp\": {\"host\": \"smtp.⟨corp|mail⟩.net\", \"user\": \"<<user.email>>\", \"password\": \"<<password>>\"},\n"
        "  \"webhook_secret\": \"<<secret>>\",\n  \"retries\": <<number>>\n}\nCan you convert this to YAML?"
    ),
    "log_excerpt": (
        "Getting these errors in prod, what's going on?\n\n<<datetime>> ERROR login failed for <<user.email>> from <<ipv4>>\n"
        "<<datetime>> WARN rate limit for client <<ipv6>>\n<<datetime>> ERROR user <<user.full>> (id ⟨4412|90|18233⟩) payment declined"
    ),
    "sql_rows": (
        "Write a query to dedupe these rows:\n\nid | name | email | phone\n1 | <<a.full>> | <<a.email>> | <<a.phone>>\n"
        "2 | <<a.full>> | <<a.email>> | <<a.phone>>\n3 | <<b.full>> | <<b.email>> | <<b.phone>>"
    ),
    "csv_patients": (
        "Parse this CSV in pandas:\nmrn,name,dob,zip\n<<mrn>>,<<p1.full>>,<<p1.dob>>,<<p1.zip>>\n<<mrn>>,<<p2.full>>,<<p2.dob>>,<<p2.zip>>"
    ),
    "terraform": (
        "resource \"aws_db_instance\" \"main\" {\n  engine   = \"postgres\"\n  username = \"dbadmin\"\n  password = \"<<password>>\"\n}\n"
        "provider \"aws\" {\n  access_key = \"<<aws_access_key>>\"\n  secret_key = \"<<aws_secret_key>>\"\n}\nterraform plan fails, help"
    ),
    "git_remote": "git push fails: remote is https://<<user.first>>:<<api_key>>@github.com/⟨acme|fjord⟩/⟨infra|web⟩.git",
    "network_config": (
        "Our firewall allows <<cidr>> and <<cidr>>; the office router is <<ipv4>> (MAC <<mac>>). "
        "Why can't the host at <<ipv6>> connect on port <<port>>?"
    ),
    "js_config": (
        "const config = {\n  apiKey: \"<<api_key>>\",\n  authDomain: \"⟨shop|app⟩.firebaseapp.com\",\n  adminEmail: \"<<user.email>>\",\n};\n"
        "// TypeError: cannot read properties of undefined"
    ),
    "slack_webhook": "Our bot token <<api_key>> posts as <<user.full>>. How do I rotate it without downtime?",
    "password_prose": "my ⟨wifi|router|vpn⟩ password is <<password>> and it doesn't work after the firmware update to <<version>>",
    "test_fixture": (
        "def test_signup():\n    user = create_user(name=\"<<user.full>>\", email=\"<<user.email>>\", ssn=\"<<ssn>>\", card=\"<<card>>\")\n"
        "    assert user.id\n# is it ok to keep this data in the repo?"
    ),
    "env_export": "export AWS_ACCESS_KEY_ID=<<aws_access_key>>\nexport AWS_SECRET_ACCESS_KEY=<<aws_secret_key>>\nexport DB_PASS='<<password>>'\naws s3 ls fails",
    # -- network data in logs and firewall rules, people's data in fixtures
    "iptables": (
        "Are these rules in the right order?\n\niptables -A INPUT -s <<ipv4_cidr>> -j ACCEPT\niptables -A INPUT -s <<doc_cidr>> -j DROP\n"
        "ip6tables -A INPUT -s <<ipv6_compressed>> -j ACCEPT\niptables -A INPUT -s <<ipv4_cidr>> -p tcp --dport <<port>> -j ACCEPT"
    ),
    "sshd_log": (
        "sshd[<<small_number>>]: Accepted publickey for <<user.lower_first>> from <<ipv6_compressed>> port ⟨51022|60412|49152⟩\n"
        "sshd[<<small_number>>]: Failed password for <<user.lower_first>> from <<ipv4>> port ⟨33122|55010⟩\nwhy two addresses?"
    ),
    "user_json": (
        "{\n  \"name\": \"<<u.last_first_mi>>\",\n  \"website\": \"<<u.domain>>\",\n  \"email\": \"<<u.idn_email>>\",\n"
        "  \"home\": {\"region\": \"<<u.region>>\", \"country\": \"<<u.home_country>>\"}\n}\nvalidate this against my schema"
    ),
    "payment_fixture": (
        "PAYMENT_FIXTURES = [\n    {\"card\": \"<<card_any>>\", \"holder\": \"<<a.caps_last_first_mi>>\"},\n"
        "    {\"routing\": \"<<aba>>\", \"account\": \"<<us_bank>>\"},\n    {\"iban\": \"<<iban_lower>>\"},\n]\n# mypy complains about the dict types"
    ),
    "provider_csv": "provider_id,provider_name,ssn\n<<npi>>,\"<<doc.caps_last_first_mi>>\",<<ssn_spaced>>\n<<npi>>,\"<<doc2.last_first_mi>>\",<<ssn>>\npandas reads provider_id as float, why?",
    "firewall_v6": "ufw allow from <<ipv6_compressed>> to any port <<port>>\nufw allow from <<ipv4_cidr>>\n# after this the box at <<doc_ip>> is unreachable",
}
