"""Support e-mails: customers writing in, agents answering, with signatures and quoted headers."""

TEMPLATES = {
    "refund": (
        "Subject: Refund for order ⟨#48213|#90017|#33150⟩\n\nHi,\n\nI was charged twice on <<date>>. The card ending in "
        "⟨4421|0093|7718⟩ is mine, full number <<card>> if you need it. Please refund to IBAN <<iban>>.\n\n"
        "Thanks,\n<<cust.full>>\n<<cust.phone>>"
    ),
    "address_change": (
        "From: <<cust.full>> <<<cust.email>>>\nTo: support@⟨shopnow|acme-tools|fjordbank⟩.com\n\n"
        "Please update my delivery address to:\n<<cust.address_lines>>\nMy customer number is <<account_no>>.\n\n"
        "Regards, <<cust.first>>"
    ),
    "agent_reply": (
        "Hello <<cust.first>>,\n\nthank you for contacting us. I have reset the password for the account registered "
        "to <<cust.email>>. If you did not request this, call us at <<phone>>.\n\nBest,\n<<agent.full>>\nCustomer Care"
    ),
    "escalation": (
        "Escalating ticket ⟨4412|7781|1290⟩: customer <<cust.last_first>> (acct <<account_no>>, DOB <<cust.dob>>) says "
        "a payment from account <<us_bank>> (routing <<aba>>) was rejected. Customer IP at the time: <<ipv4>>."
    ),
    "identity_check": (
        "Hi team, can someone verify this caller? Name: <<cust.full_mi>>. Last four of SSN: ⟨1234|9921|4410⟩. "
        "Full SSN on file: <<ssn>>. Address: <<cust.address>>. Email <<cust.email>>."
    ),
    "forwarded": (
        "---------- Forwarded message ---------\nFrom: <<a.full>> <<<a.email>>>\nDate: <<datetime>>\n"
        "Subject: Re: invoice\nTo: <<b.full>> <<<b.email>>>\n\n<<b.first>>, the invoice went to the old address "
        "(<<a.street>>). Could you resend it? My mobile is <<a.phone>>.\n"
    ),
    "gdpr_request": (
        "Dear Data Protection Officer,\n\nunder Article 15 GDPR I request a copy of all data you hold about me, "
        "<<cust.full>>, born <<cust.dob>>, customer ID <<account_no>>, e-mail <<cust.email>>, postal address "
        "<<cust.address_country>>.\n\nYours faithfully,\n<<cust.full>>"
    ),
    "delivery": (
        "The courier left my parcel at the wrong house. I'm at <<cust.street>>, <<cust.zip>> <<cust.city>>; "
        "it was left at number ⟨14|22|3a⟩. Call me: <<cust.phone>>. - <<cust.first>> <<cust.last>>"
    ),
    "insurance_claim": (
        "Claim for vehicle <<vin>> (registration <<plate>>), accident on <<date>>. Policyholder <<cust.full>>, "
        "driver's licence <<driver_license>>. Photos attached."
    ),
    "short": "pls call me back <<cust.phone>> - <<cust.first>>",
    "short_email": "my login is <<cust.email>> and it keeps saying account locked",
    "sig_block": (
        "Thanks for the quick fix!\n\n--\n<<cust.full>>\n⟨Head of Operations|Office Manager|Accounts Payable⟩\n"
        "<<cust.address_lines>>\nT <<cust.phone>> | F <<fax>>\n<<personal_url>>"
    ),
    "german_support": (
        "Guten Tag,\nbitte buchen Sie die Rechnung von meinem Konto <<iban>> ab. Kundennummer <<account_no>>.\n"
        "Mit freundlichen Grüßen\n<<cust.full>>\n<<cust.address_lines>>"
    ),
    "dutch_support": (
        "Beste klantenservice, mijn nieuwe adres is <<cust.address>>. Mijn telefoonnummer is <<cust.phone>>. "
        "Groet, <<cust.full>>"
    ),
    "italian_support": (
        "Buongiorno, sono <<cust.full>> (codice cliente <<account_no>>). Vi prego di aggiornare il mio indirizzo: "
        "<<cust.address>>. Grazie."
    ),
    "national_id": (
        "For the KYC check: <<cust.full>>, national ID <<cust.national_id>>, nationality <<cust.country>>, "
        "date of birth <<cust.dob>>."
    ),
}
