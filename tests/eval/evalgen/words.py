"""Word lists written for this corpus (not taken from sluice's dictionaries).

Health terms are what clinicians and patients write, so some will be absent from
rules/dictionaries: that is a miss worth measuring, not a reason to change the list. The harmless
lists feed cleared prompts: capitalised product, team and place-of-business words, none a person.
"""

CONDITIONS = [
    "type 2 diabetes", "hypertension", "asthma", "COPD", "atrial fibrillation", "migraine",
    "major depressive disorder", "generalized anxiety disorder", "hypothyroidism",
    "chronic kidney disease", "rheumatoid arthritis", "osteoarthritis", "GERD", "pneumonia",
    "urinary tract infection", "sepsis", "congestive heart failure", "Crohn's disease",
    "ulcerative colitis", "epilepsy", "multiple sclerosis", "Parkinson's disease",
    "breast cancer", "prostate cancer", "HIV", "hepatitis C", "psoriasis", "anemia", "gout",
    "obstructive sleep apnea", "bipolar disorder", "schizophrenia", "ADHD", "celiac disease",
    "cellulitis", "deep vein thrombosis", "pulmonary embolism", "endometriosis", "glaucoma",
    "shingles", "long COVID", "opioid use disorder", "alcohol use disorder", "hyperlipidemia",
]

MEDICATIONS = [
    "metformin", "lisinopril", "atorvastatin", "amlodipine", "levothyroxine", "omeprazole",
    "albuterol", "sertraline", "escitalopram", "gabapentin", "prednisone", "warfarin",
    "apixaban", "insulin glargine", "semaglutide", "ibuprofen", "acetaminophen", "amoxicillin",
    "azithromycin", "ciprofloxacin", "hydrochlorothiazide", "losartan", "furosemide",
    "methotrexate", "adalimumab", "lamotrigine", "levetiracetam", "quetiapine", "bupropion",
    "tamsulosin", "montelukast", "buprenorphine", "naloxone", "oxycodone", "tramadol",
    "clopidogrel", "rosuvastatin", "pantoprazole", "duloxetine", "lithium",
]

PROCEDURES = [
    "colonoscopy", "appendectomy", "cholecystectomy", "total knee replacement", "hip replacement",
    "cardiac catheterization", "coronary artery bypass graft", "MRI of the lumbar spine",
    "CT scan of the chest", "echocardiogram", "upper endoscopy", "cataract surgery",
    "hysterectomy", "cesarean section", "lumbar puncture", "bone marrow biopsy", "dialysis",
    "chemotherapy", "physical therapy", "skin biopsy", "tonsillectomy", "angioplasty",
    "mammogram", "spinal fusion", "carpal tunnel release",
]

DOSES = ["5 mg", "10 mg", "20 mg", "25 mg", "40 mg", "50 mg", "100 mg", "250 mg", "500 mg",
         "1000 mg", "2 puffs", "10 units", "0.5 mg"]
FREQUENCIES = ["daily", "twice daily", "BID", "TID", "at bedtime", "every 8 hours as needed",
               "once weekly", "q12h", "PRN"]

PRODUCTS = [
    "Kubernetes", "PostgreSQL", "Redis", "Terraform", "React", "Django", "FastAPI", "Kafka",
    "Snowflake", "BigQuery", "Grafana", "Prometheus", "Docker Compose", "GitHub Actions",
    "Elasticsearch", "Nginx", "Spring Boot", "TypeScript", "Rust", "Go", "Python", "Node.js",
    "Excel", "Power BI", "Tableau", "Jira", "Confluence", "Salesforce", "SAP", "Figma",
    "iPhone 15", "Pixel 8", "ThinkPad X1 Carbon", "MacBook Air", "Galaxy S24", "Apple Watch",
    "AirPods Pro", "Kindle Paperwhite", "PlayStation 5", "Raspberry Pi 5", "Arduino Uno",
]

TEAMS = ["Platform", "Payments", "Growth", "Data Engineering", "Customer Success", "Legal",
         "Finance", "Marketing", "Security", "Infrastructure", "Mobile", "Analytics"]

# Generic business words that are capitalised in titles and headings.
CAPITALISED = ["Quarterly Business Review", "Annual Report", "Executive Summary",
               "Release Notes", "Product Roadmap", "Terms of Service", "Privacy Policy",
               "Onboarding Guide", "Service Level Agreement", "Request for Proposal",
               "Board Meeting", "Town Hall", "Black Friday", "Cyber Monday", "Q3 Planning",
               "North Star Metric", "Net Promoter Score", "Open Source Program Office"]

COUNTRIES = ["France", "Japan", "Brazil", "Canada", "Germany", "India", "Kenya", "Mexico",
             "Norway", "Australia", "South Korea", "Italy", "Spain", "Egypt", "Argentina"]

BIG_CITIES = ["Paris", "Tokyo", "New York", "London", "Berlin", "Toronto", "Sydney", "Madrid",
              "Rome", "Amsterdam", "Chicago", "Singapore"]

LANGUAGES = ["Python", "Rust", "Go", "Java", "Kotlin", "TypeScript", "C#", "Ruby", "Scala",
             "Swift", "Haskell", "Elixir"]

DISHES = ["lasagna", "banana bread", "pad thai", "chili", "sourdough", "risotto", "tacos",
          "paella", "ramen", "shakshuka"]

TOPICS = ["photosynthesis", "compound interest", "the French Revolution", "black holes",
          "supply and demand", "the Krebs cycle", "plate tectonics", "the Renaissance",
          "machine learning", "inflation", "the Roman Empire", "quantum entanglement"]
