"""Clinical notes: discharge summaries, referrals, SOAP notes, lab and pharmacy text.

Headers in the styles EHR exports use (NAME: LAST, FIRST / MRN / DOB), and prose where the
patient is "Mr. X" after the first mention.
"""

TEMPLATES = {
    "discharge_summary": (
        "DISCHARGE SUMMARY\nPatient: <<pt.caps_last_first>>    MRN: <<mrn>>    DOB: <<pt.dob>>\n"
        "Admitted: <<datetime>>    Discharged: <<date>>\nAttending: <<doc.title_full>>\n\n"
        "<<pt.title_last>> is a <<pt.age>>-year-old <<pt.sex>> with a history of <<condition>> and "
        "<<condition>> who presented with ⟨shortness of breath|chest pain|fever and confusion|a fall at home⟩. "
        "<<pt.He>> underwent <<procedure>> without complications. Discharged on <<medication>> <<dose>>.\n"
        "Follow-up with <<doc.title_last>> in ⟨1|2|4⟩ weeks. Call <<doc.phone>> with questions."
    ),
    "referral": (
        "Dear <<to.title_last>>,\n\nThank you for seeing <<pt.full>> (DOB <<pt.dob>>, NHS/chart no. <<mrn>>), "
        "who lives at <<pt.address>>. <<pt.He>> has <<condition>> poorly controlled on <<medication>>. "
        "I would be grateful for your assessment regarding <<procedure>>.\n\nKind regards,\n<<from.title_full>>\n"
        "Fax <<fax>>"
    ),
    "soap": (
        "S: <<pt.age>> yo <<pt.mf>> c/o ⟨headache|back pain|cough|fatigue⟩ x ⟨3 days|2 weeks|1 month⟩. Hx <<condition>>.\n"
        "O: BP ⟨128/82|142/90|118/76⟩, HR ⟨72|88|104⟩, T ⟨36.8|38.2|37.1⟩ C. Seen on <<date>>.\n"
        "A: <<condition>>.\nP: start <<medication>> <<dose>>; ⟨RTC 2 wks|labs in 1 week|refer to specialist⟩.\n"
        "Pt: <<pt.full>>, MRN <<mrn>>"
    ),
    "oldest_patient": (
        "Pt is a <<age_over_89>>-year-old ⟨woman|man⟩ admitted <<date>> from ⟨a nursing home|home⟩ in <<pt.city>> "
        "with <<condition>>. Daughter <<dtr.full>> (<<dtr.phone>>) is the health care proxy."
    ),
    "aged": "Patient <<pt.full>>, aged <<age_over_89>>, seen for <<condition>>; plan <<procedure>>.",
    "pharmacy": (
        "Rx for <<pt.full>> (DOB <<pt.dob>>)\n<<medication>> <<dose>>, #30, refills ⟨0|1|2|3⟩\n"
        "Prescriber: <<doc.title_full>>, NPI <<npi>>, DEA <<doc.dea>>\nInsurance member ID <<member_id>>"
    ),
    "insurance": (
        "Prior authorization request\nMember: <<pt.last_first>>\nMember ID: <<member_id>>\nMedicare MBI: <<mbi>>\n"
        "Requested: <<procedure>> for <<condition>>\nProvider NPI: <<npi>>, license <<med_license>>"
    ),
    "lab": (
        "LAB REPORT  <<pt.caps_last_first>>  <<pt.mf>>  DOB <<pt.dob>>  Acc# <<mrn>>\n"
        "Collected <<datetime>>\nHbA1c ⟨6.1|7.4|8.9⟩ %  LDL ⟨92|131|164⟩ mg/dL  eGFR ⟨48|67|90⟩\n"
        "Ordering: <<doc.title_last>>"
    ),
    "nursing": (
        "⟨0700|1500|2300⟩ ⟨Pt|Patient⟩ <<pt.first>> resting, c/o pain 4/10, <<medication>> given. "
        "Husband/wife <<sp.first>> visited, can be reached at <<sp.phone>>. Room ⟨12|304|4B⟩."
    ),
    "ask_model": (
        "Summarise for the handover: <<pt.full>>, <<pt.age>>, <<condition>>, on <<medication>> and <<medication>>. "
        "Lives at <<pt.address_lines>>. Next of kin <<nok.full>> <<nok.phone>>."
    ),
    "device": (
        "Pacemaker interrogation <<date>>: device serial <<device_serial>>, patient <<pt.full_mi>>. "
        "Battery ⟨OK|at ERI⟩. Dx <<condition>>."
    ),
    "portal": (
        "Patient message via portal (<<personal_url>>) from <<pt.email>>: ⟨my|the⟩ <<medication>> refill is late, "
        "I am out since <<date>>. - <<pt.first>>"
    ),
    "german_note": (
        "Arztbrief: Patient/in <<pt.full>>, geb. <<pt.dob>>, wohnhaft <<pt.address>>. "
        "Diagnose: <<condition>>. Therapie: <<medication>>."
    ),
    "death": "Date of death: <<date>>. Decedent <<pt.full>>, <<age_over_89>> years old, SSN <<ssn>>. Cause: <<condition>>.",
    "military": "Mail the records for <<pt.full>> (<<condition>>) to:\n<<military>>",
    # -- lone surnames with titles, bare NPI, middle initials, ages in words, further date shapes
    "progress_surname": (
        "⟨0800|1400|2000⟩ Pt <<pt.last>> ⟨ambulating with frame|afebrile overnight|slept well⟩. ⟨Dr.|Dr|Dr.⟩ <<doc.last>> ⟨aware|notified|reviewed⟩. "
        "Spoke to <<pt.last>>'s daughter <<dtr.first>> re discharge. Continue <<medication>> <<dose>>."
    ),
    "claim_bare_npi": (
        "⟨Claim reviewed|Superbill⟩: Dr <<doc.last>>, <<npi>>, ⟨signed the claim|attested the visit|countersigned⟩ for <<pt.last_first_mi>> "
        "(<<procedure>>) on <<date_more>>. Referring: <<ref.full>> <<npi>>."
    ),
    "aged_words": (
        "HPI: <<pt.title_last>> is a ⟨frail|pleasant|lucid⟩ <<age_any_over_89>>-year-old ⟨widow|widower|resident⟩ with <<condition>>; "
        "⟨family report|carer reports⟩ <<pt.he>> has been ⟨more confused|eating less|falling⟩ since <<date_more>>."
    ),
    "aged_simple": "<<pt.full>>, aged <<age_any_over_89>>, <<pt.sex>>. <<pt.He>> is <<age_words>> ⟨and|but⟩ ⟨independent in ADLs|needs help with transfers⟩. Dx <<condition>>.",
    "visit_times": (
        "Seen <<datetime_more>>. Symptoms since <<date_more>>; previous visit <<date_more>>.\n"
        "Pt: <<pt.last_first_mi>>   DOB <<pt.dob>>\nA/P: <<condition>>, start <<medication>>."
    ),
    "consult_header": (
        "CONSULT NOTE\nPATIENT: <<pt.caps_last_first_mi>>\nREFERRING: <<doc.initials_last>>, MD\nCONSULTANT: <<con.initial_middle_last>>, ⟨DO|MD|NP⟩\n"
        "Reason: <<condition>>. Recommend <<procedure>>."
    ),
    "discharge_address": "Discharge to home. Transport booked for <<pt.full>> to:\n<<postal_block>>\nContact <<nok.first>> on <<nok.phone>>.",
    "social_history": (
        "Social hx: <<pt.first>> was born in <<country_of>>, moved to <<pt.region>> in <<year>>; lives with ⟨husband|wife|daughter|son⟩ <<sp.first>>. "
        "Non-smoker. Hx <<condition>>."
    ),
}
