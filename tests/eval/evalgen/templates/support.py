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
    # -- lone names, multi-line addresses, identifiers in weaker context
    "merge_accounts": (
        "Internal note: please merge the <<cust.last>> account ⟨into|with⟩ the duplicate ⟨created last week|from the old shop|with the typo⟩. "
        "Ask <<agent2.first>> about the refund first - ⟨it was|that was⟩ ⟨his|her|their⟩ ticket.\n- <<agent.first>>"
    ),
    "agent_signoff": "Hi <<cust.first>>,\n\nyour ⟨replacement|refund|exchange⟩ is on its way.\n\n⟨Cheers|Best|Kind regards|Thanks again⟩,\n<<agent.first>>\n⟨Support|Customer Care|Team Billing⟩",
    "ship_to_block": "Please ship ⟨the replacement|my order|the spare part⟩ to:\n\n<<cust.full>>\n<<postal_block_country>>\n\nThanks, <<cust.first>>",
    "credit_check": "For the credit check: name <<cust.last_first_mi>>, ⟨SSN|Social Security No.|social security number|SSN#⟩ <<ssn_spaced>>, born <<cust.dob>>.",
    "card_declined": "My card <<card_any>> ⟨keeps getting declined|was charged twice|shows a pending charge⟩ on your site. ⟨Can you check?|Please fix.⟩ - <<cust.first>>",
    "iban_update": "Please change the ⟨IBAN|account⟩ for my direct debit to <<iban_lower>> from next month. ⟨Thanks|Regards⟩, <<cust.full>>",
    "wire_reject": "The ⟨transfer|wire⟩ from ⟨bank|my bank⟩ <<aba>>, account <<us_bank>>, ⟨bounced|was returned⟩ ⟨twice|again⟩. Customer <<cust.last>> wants a call back.",
    "idn_login": "I can't log in with <<cust.idn_email>> - the reset mail never arrives. ⟨Account holder|Name⟩: <<cust.full>>.",
    "site_renewal": "My ⟨shop|blog|portfolio⟩ <<cust.domain>> stopped resolving after the renewal on <<date_more>>. - <<cust.first>> <<cust.last>>",
    "moved_abroad": "I ⟨have moved|moved⟩ from <<cust.region>> to <<country_of>>; ⟨please update|can you change⟩ the country on my account <<account_no>>? <<cust.full>>",
    "military_support": "Can you ship to an APO? My address is:\n<<cust.full>>\n<<military_block>>\nOrder ⟨#55120|#71833|#20417⟩.",
}
