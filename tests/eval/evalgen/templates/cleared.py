"""Cleared prompts: what most traffic looks like, and what must reach the cloud untouched.

No person is identifiable in any of these. They are full of what a careless detector mistakes for
PII: versions, prices, long numbers, dates tied to no person (releases, holidays, deadlines;
HIPAA's date element concerns dates of an individual), capitalised product and business words,
countries and cities named as places rather than where someone lives, documentation IPs, hashes.
Health questions without identifiers are de-identified health information: their condition,
medication and procedure names are labelled (health context is an entity type), yet the right
decision is still `allow`.

Templates are grouped (`group/name`) so the false-alarm rate can be read per group.
"""

TEMPLATES = {
    # -- software
    "software/upgrade": "We're on <<product>> <<version>>. Is it safe to upgrade straight to <<version>> or do we need <<version>> first?",
    "software/bug": "After bumping <<product>> from <<version>> to <<version>> our p99 latency went from <<size>> to <<size>>. Where should I look?",
    "software/regex": "Write a regex that matches semantic versions like <<version>> and <<version>> but not <<number>>.",
    "software/port": "Why does <<product>> listen on <<doc_ip>>:<<port>> instead of 0.0.0.0:<<port>> in my container?",
    "software/compare": "Compare <<language>> and <<language>> for a CLI tool that parses <<size>> log files.",
    "software/commit": "Explain what commit <<sha>> might have broken; the build for <<ticket>> fails since tag <<version>>.",
    "software/sql": "Optimise: SELECT region, SUM(amount) FROM orders WHERE created_at >= '<<event_date>>' GROUP BY region HAVING SUM(amount) > <<big_number>>;",
    "software/k8s": "Our <<product>> cluster has <<number>> pods and <<size>> memory per node. How many replicas for <<number>> req/s?",
    "software/docs": "The <<product>> <<version>> release notes (published <<event_date>>) mention a breaking change to config loading. Summarise it in two sentences.",
    "software/error": "TypeError: expected str, got int at line <<number>> of parser.py. Using <<language>> <<version>>.",
    # -- business
    "business/pricing": "Our plan costs <<price>> per seat and the competitor charges <<price>>. Draft a pricing page paragraph for the <<team>> team.",
    "business/budget": "Summarise: Q⟨1|2|3|4⟩ revenue <<price>>, costs <<price>>, headcount <<number>>, churn <<number>>.",
    "business/meeting": "Draft an agenda for the <<capitalised>> on <<event_date>> for the <<team>> and <<team>> teams.",
    "business/okrs": "Rewrite these OKRs: grow <<product>> usage by <<number>>, cut support tickets below <<count>> per week, ship <<version>> by <<event_date>>.",
    "business/invoice_math": "If an invoice of <<price>> is paid <<count>> days late at 1.5% a month, what is the interest?",
    "business/office": "We're opening an office in <<big_city>>. What should the <<team>> team know about hiring there?",
    "business/slogan": "Give me ten slogans for <<product>> for <<capitalised>>.",
    "business/holiday": "Our support hours over <<capitalised>> and the holiday on <<event_date>>: write a short banner text.",
    # -- general knowledge and everyday life
    "general/explain": "Explain <<topic>> to a ⟨ten-year-old|first-year student|manager⟩ in <<number>> words.",
    "general/travel": "What's the best time of year to visit <<country>>, and is a week in <<big_city>> enough?",
    "general/geography": "What is the population of <<country>> compared to <<country>>?",
    "general/recipe": "Scale my <<dish>> recipe from 4 to <<count>> servings; it uses 250 g flour and 3 eggs.",
    "general/math": "What is <<big_number>> divided by <<number>>, rounded to two decimals?",
    "general/history": "Why did <<topic>> matter for <<country>> in <<year>>?",
    "general/shopping": "Is the <<product>> at <<price>> a better deal than the <<product>> at <<price>>?",
    "general/units": "Convert <<count>> miles to kilometres and <<count>> °F to Celsius.",
    "general/city_facts": "Give me three facts about the history of <<nonperson_city>> and its architecture.",
    # -- writing
    "writing/title": "Suggest a title for a blog post about <<product>> and <<product>> for the <<capitalised>>.",
    "writing/tone": "Make this friendlier: \"Version <<version>> is deprecated on <<event_date>>. Upgrade now.\"",
    "writing/translate": "Translate to ⟨German|French|Spanish|Italian|Dutch⟩: \"Our <<capitalised>> is available in <<number>> languages.\"",
    "writing/summary": "Summarise in one paragraph: the <<team>> team shipped <<number>> features in <<year>>, cut costs by <<number>> and migrated to <<product>>.",
    # -- health questions with no identifier
    "health/dose": "What is the usual adult dose of <<medication>>, and can it be taken with <<medication>>?",
    "health/condition": "What are the early symptoms of <<condition>>, and how is it usually treated?",
    "health/procedure": "How long is recovery after <<procedure>> for most people?",
    "health/stats": "How common is <<condition>> in adults over 65 in <<country>>?",
    # -- traps: short numbers in prose, model names, stacks, places named as places, dates of no one
    "numbers/variant": "Variant <<small_number>> ⟨won|lost⟩ the A/B test by <<number>>. Is that significant with <<big_number>> sessions?",
    "numbers/issue_ref": "Close the duplicate (#<<small_number>>) and link it to #<<small_number>> in the changelog for <<semver>>.",
    "numbers/item_of": "Item <<small_number>> of <<small_number>> in the ⟨release|audit|onboarding⟩ checklist keeps failing. What usually causes that?",
    "numbers/venue": "Find a venue with room for <<small_number>> guests near <<big_city>>, budget <<price>>, ⟨catering included|no catering⟩.",
    "devices/compare": "<<device_model>> vs <<device_model>>: which has the better ⟨battery|camera|screen⟩?",
    "devices/repair": "My <<device_model>> won't ⟨charge|pair|boot⟩ since the <<semver>> update. ⟨Any fix?|Should I reset it?⟩",
    "software/stack": "<<language>>, <<language>> or <<language>>? And <<framework>>, <<framework>> or <<framework>> for the ⟨admin panel|API|mobile app⟩?",
    "software/upgrade_path": "Upgrading <<framework>> <<semver>> to <<semver>> on <<language>> <<semver>> breaks the tests. Where do I start?",
    "general/capital": "What is the capital of <<country_place>>, and is it bigger than <<big_city>>?",
    "general/regions": "Which is larger, <<region_place>> or <<region_place>>, and what is each known for?",
    "general/borders": "Which countries border <<country_place>>? Does it share a border with <<country_place>>?",
    "dates/release": "The <<product>> <<semver>> release ⟨ships|shipped⟩ on <<event_date_more>>; code freeze is <<event_date_more>>. Draft the announcement.",
    "dates/holiday": "Is <<event_date_more>> a public holiday in <<country_place>>? We want to plan the ⟨launch|offsite|migration⟩ around it.",
    "dates/deadline": "The grant deadline is <<event_date_more>> at 17:00 CET. Make a ⟨two-week|four-week⟩ timeline working back from it.",
    "dates/standup": "Standup moves to ⟨Tuesdays|Thursdays⟩ at ⟨9:30|10:15⟩ from <<event_date_more>>; write the calendar note for the <<team>> team.",
}
