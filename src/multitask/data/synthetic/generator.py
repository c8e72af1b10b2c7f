"""Synthetic labelled sentences for the two tasks: topic (task A) and sentiment (task B).

A small compositional grammar. Each row draws a (topic, sentiment) pair (balanced over all pairs),
then one of many sentence shapes (statements, reviews, headlines, questions, first-person posts,
reported speech, tweets, compound sentences) filled from a per-topic vocabulary (actors, things,
speakers, places, events, whole hand-written statements per sentiment) and a per-sentiment
vocabulary (adjectives, feelings, openers, closers). Numbers, dates and names are slots filled
per row. Three knobs make the task harder and the data closer to real text:

- ``negation_rate``: the sentiment is carried by a negated phrase. "not good" / "failed to win"
  is negative, "not bad at all" / "never crashes" is (mildly) positive, and "has not announced a
  date" is neutral. Only negated rows contain a negation word or "failed to" (``NEGATION_RE``).
- ``distractor_rate``: a subordinate clause mentions another topic ("while everyone was talking
  about the football final") without changing either label.
- ``label_noise``: per task independently, that fraction of rows gets a random *other* label.

Everything is drawn from ``random.Random(seed)`` (text) and ``numpy.random.default_rng`` seeded
from ``seed`` (noise), never from global state, so the same arguments give the same frame.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_TOPICS: tuple[str, ...] = ("business", "health", "sports", "technology")
DEFAULT_SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

# A row is "negated" iff its text matches this; non-negated vocabulary never does (tested).
NEGATION_RE = re.compile(
    r"\b(?:not|no|never|nothing|none|nobody|nowhere|neither|nor|without|cannot|fail(?:ed|s)? to)\b"
    r"|n't\b",
    re.IGNORECASE,
)

MIN_WORDS, MAX_WORDS = 4, 45
_MAX_ATTEMPTS = 500  # re-draws per row before giving up on finding a new unique text


def _w(spec: str) -> tuple[str, ...]:
    """Split a ``a | b | c`` vocabulary string into a tuple of trimmed phrases."""
    return tuple(p.strip() for p in spec.split("|") if p.strip())


def _per_sentiment(negative: str, neutral: str, positive: str) -> dict[str, tuple[str, ...]]:
    return {"negative": _w(negative), "neutral": _w(neutral), "positive": _w(positive)}


# --------------------------------------------------------------------------------------------
# Slots: ``{name}`` placeholders filled at generation time (numbers, dates, names).
# --------------------------------------------------------------------------------------------
_MONTHS = _w(
    "January | February | March | April | May | June | July | August | September | October"
    " | November | December"
)
_DAYS = _w("Monday | Tuesday | Wednesday | Thursday | Friday | Saturday | Sunday")
_CITIES = _w(
    "Berlin | Chicago | Lagos | Mumbai | Toronto | Lyon | Osaka | Denver | Leeds | Lisbon"
    " | Nairobi | Melbourne | Seoul | Dublin | Austin | Milan | Oslo | Manchester"
)
_FIRST = _w(
    "Maria | James | Aisha | Tom | Sofia | David | Emma | Lucas | Hannah | Ravi | Grace | Omar"
    " | Elena | Kwame | Julia | Mateo | Priya | Ben | Chloe | Daniel | Yuki | Sam"
)
_LAST = _w(
    "Lopez | Chen | Khan | Becker | Rossi | Okafor | Novak | Silva | Schmidt | Patel | Kim"
    " | Haddad | Ivanova | Mensah | Walsh | Moreau | Tanaka | Garcia | Brooks | Larsen"
)
_COMPANIES = _w(
    "Northwind Traders | Brightline Capital | Meridian Foods | Atlas Freight | Crescent Bank"
    " | Summit Retail | Pinecrest Holdings | Bluewater Energy | Oakridge Motors"
    " | Redfield Insurance | Silverline Airways | Granite Steel | Cobalt Logistics"
    " | Evergreen Grocers | Harborview Properties"
)
_HOSPITALS = _w(
    "St. Mary's Hospital | the Riverside Clinic | Kingsbridge Medical Centre"
    " | the university hospital | Westfield General | the children's hospital"
    " | Lakeside Health Centre | the regional cancer centre"
)
_TEAMS = _w(
    "Riverside United | the Northside Falcons | Eastport Rovers | the Bay City Sharks"
    " | Westham Athletic | the Lakeview Lions | Southgate City | the Harbor Hawks"
    " | Kingston Wanderers | the Valley Tigers"
)
_TECHCOS = _w(
    "Nimbus Labs | Pixelsoft | Quantum Devices | ByteForge | Cloudnine Systems | Orbital Networks"
    " | Lumen Mobile | Vertexa | Helio Computing | Sparkline"
)
_PRODUCTS = _w(
    "the Pixelphone 9 | the Nimbus X laptop | the ByteBook Pro | the Orbit smartwatch"
    " | the Lumen S tablet | the Helio earbuds | the Sparkline router | the Quantum Q5 phone"
)


def _score(r: random.Random) -> str:
    a = r.randint(1, 6)
    return f"{a}-{r.randint(0, a - 1)}"


_SLOTS: dict[str, Callable[[random.Random], str]] = {
    "n": lambda r: str(r.choice((2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 40, 120, 300, 1500))),
    "few": lambda r: r.choice(("two", "three", "four", "five", "six", "seven", "eight", "nine")),
    "big": lambda r: f"{r.randint(2, 95) * 100:,}",
    "pct": lambda r: str(r.choice((3, 5, 7, 8, 9, 11, 12, 14, 15, 18, 20, 22, 25, 30, 40))),
    "money": lambda r: r.choice(("$", "£", "€")) + f"{r.randint(2, 900)} million",
    "price": lambda r: f"${r.randint(3, 19) * 50 - 1}",
    "score": _score,
    "day": lambda r: r.choice(_DAYS),
    "month": lambda r: r.choice(_MONTHS),
    "city": lambda r: r.choice(_CITIES),
    "time": lambda r: f"{r.randint(1, 11)}:{r.choice(('00', '15', '30', '45'))} {r.choice('ap')}m",
    "gb": lambda r: str(r.choice((64, 128, 256, 512))),
    "ver": lambda r: f"{r.randint(2, 19)}.{r.randint(0, 9)}",
    "age": lambda r: str(r.choice((18, 40, 50, 60, 65, 70))),
    "person": lambda r: f"{r.choice(_FIRST)} {r.choice(_LAST)}",
    "company": lambda r: r.choice(_COMPANIES),
    "hospital": lambda r: r.choice(_HOSPITALS),
    "team": lambda r: r.choice(_TEAMS),
    "team2": lambda r: r.choice(_TEAMS),
    "techco": lambda r: r.choice(_TECHCOS),
    "product": lambda r: r.choice(_PRODUCTS),
    "when": lambda r: r.choice(
        ("next week", "this week", "on " + r.choice(_DAYS), "in " + r.choice(_MONTHS),
         "later this month", "next month", "early next year", "by the end of the year")
    ),
}  # fmt: skip
_SLOT_RE = re.compile(r"\{(\w+)\}")


def _fill(r: random.Random, text: str) -> str:
    return _SLOT_RE.sub(lambda m: _SLOTS[m.group(1)](r), text)


# --------------------------------------------------------------------------------------------
# Vocabulary.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TopicVocab:
    """Words of one topic. Per-sentiment fields map sentiment -> phrases."""

    actors: tuple[str, ...]  # subjects that do things: "the retailer", "{team}"
    things: tuple[str, ...]  # singular things people judge: "the merger", "the new app"
    speakers: tuple[str, ...]  # who is quoted: "the chief executive"
    places: tuple[str, ...]  # topical adjuncts: "on Wall Street"
    mentions: tuple[str, ...]  # neutral noun phrases: things here, distractors in other topics
    hashtags: tuple[str, ...]
    experiences: tuple[str, ...]  # first-person past actions: "installed the latest update"
    questions: tuple[str, ...]  # neutral questions
    events: dict[str, tuple[str, ...]]  # actor predicates (past or future tense)
    negated_events: dict[str, tuple[str, ...]]
    preds: dict[str, tuple[str, ...]]  # thing predicates
    negated_preds: dict[str, tuple[str, ...]]
    headlines: dict[str, tuple[str, ...]]
    outcomes: dict[str, tuple[str, ...]]  # first-person outcome clauses
    statements: dict[str, tuple[str, ...]]  # whole sentences: the breadth of the topic


@dataclass(frozen=True)
class SentimentVocab:
    """Topic-free words of one sentiment."""

    adjectives: tuple[str, ...]
    intensifiers: tuple[str, ...]
    feelings: tuple[str, ...]  # "I love" + thing
    openers: tuple[str, ...]
    closers: tuple[str, ...]
    descriptions: tuple[str, ...]  # "described it as" + description
    news: tuple[str, ...]
    questions: tuple[str, ...]  # templates over {thing}, {actor}, {event}, {adj}
    negated: tuple[str, ...]  # "{thing} is" + negated phrase giving this sentiment
    negated_closers: tuple[str, ...]


TOPICS: dict[str, TopicVocab] = {
    "business": TopicVocab(
        actors=_w(
            "the company | the retailer | the bank | the airline | the carmaker | the startup"
            " | the supermarket chain | the energy group | the insurer | the firm"
            " | the steelmaker | the property developer | the fashion brand | the brewery"
            " | {company} | {company} | {company} | the logistics group | the family business"
        ),
        things=_w(
            "the merger | the quarterly report | the new pricing plan | the takeover deal"
            " | the company's strategy | the earnings report | the dividend | the sales figures"
            " | the annual budget | the share price | the business loan | the cost-cutting plan"
            " | the stock | the pension fund | the trade deal | the investment | the IPO"
        ),
        speakers=_w(
            "the chief executive | a company spokesperson | analysts | the finance minister"
            " | one investor | a market strategist | the chairman | the chief financial officer"
            " | a senior economist | {person}, a fund manager, | the union representative"
        ),
        places=_w(
            "on Wall Street | at the shareholder meeting | in the latest earnings call"
            " | on the stock exchange | in its annual report | across its stores"
            " | in the retail sector | in the bond market"
        ),
        mentions=_w(
            "the interest rate decision | the earnings season | the stock market | merger talks"
            " | the new tax rules | oil prices | the quarterly results | the company takeover"
            " | the shareholder meeting | the price of gold | the jobs report"
            " | the inflation figures | the central bank meeting | the budget speech"
            " | the housing market | the trade talks | the currency markets"
            " | the minimum wage debate | the retail sales figures | the bank's annual results"
        ),
        hashtags=_w("#business | #markets | #stocks | #economy | #finance | #investing"),
        experiences=_w(
            "bought shares in {company} | opened an account with {company}"
            " | applied for a small business loan | sold my stock in {company}"
            " | checked my pension statement | pitched our startup to investors"
            " | signed a contract with a big supplier | ran the numbers for our shop"
        ),
        questions=_w(
            "When does {company} report its quarterly earnings?"
            " | Does anyone know who the new chief executive of {company} is?"
            " | What time do the markets open on {day}?"
            " | How many stores does {company} operate?"
            " | Is the shareholder vote on the merger still set for {day}?"
            " | Where can I find the annual report for {company}?"
            " | What is the current interest rate on business loans?"
        ),
        events=_per_sentiment(
            negative="slashed its profit forecast | saw its shares plunge {pct}%"
            " | announced {big} job cuts | filed for bankruptcy | badly missed earnings estimates"
            " | reported a huge quarterly loss | lost its biggest contract | cut its dividend"
            " | was hit by collapsing sales | warned of weak demand | defaulted on its loans"
            " | closed {n} stores | was fined {money} for misleading customers"
            " | saw revenue collapse | struggled with soaring costs | froze hiring amid losses"
            " | was downgraded by analysts | slumped to a loss | faced an angry shareholder revolt"
            " | burned through its cash reserves | laid off half of its staff"
            " | saw its market value halve in a week",
            neutral="will publish its quarterly results on {day}"
            " | reported revenue of {money}, in line with estimates"
            " | appointed a new chief financial officer | held its annual shareholder meeting"
            " | is scheduled to report earnings {when} | moved its headquarters to {city}"
            " | employs about {big} people | operates {n} stores across the country"
            " | kept its forecast unchanged | plans to list its shares {when}"
            " | will put the merger to a shareholder vote {when} | released its annual report"
            " | confirmed the date of its investor day | traded flat in early trading"
            " | opened a regional office in {city} | updated its pricing policy"
            " | hired an outside auditor | completed a routine review of its accounts"
            " | will pay its dividend on {day}",
            positive="posted record profits | beat analyst expectations"
            " | raised its full-year forecast | saw its shares jump {pct}%"
            " | announced plans to hire {big} new staff | reported its strongest quarter in years"
            " | won a major new contract | raised its dividend | grew revenue by {pct}%"
            " | closed a {money} funding round | landed a huge export deal | cut its debt sharply"
            " | expanded into {few} new markets | delivered impressive sales growth"
            " | returned to profit ahead of schedule | saw demand soar | boosted its margins"
            " | signed a lucrative partnership | doubled its customer base"
            " | rallied strongly on the stock exchange",
        ),
        negated_events=_per_sentiment(
            negative="did not meet its sales targets | failed to turn a profit"
            " | could not pay its suppliers on time | never delivered the growth it promised"
            " | did not attract a single new investor | couldn't stop the slide in its shares"
            " | failed to win back its customers",
            neutral="has not yet announced a date for its results | did not comment on the reports"
            " | did not change its forecast | will not hold an investor call this quarter"
            " | made no changes to its board | has not decided where to open its next office",
            positive="did not need a bailout after all | did not miss a single target this year"
            " | reported no losses for the first time in years"
            " | never cut jobs, even in the downturn"
            " | didn't let rising costs hurt its margins | had no trouble beating forecasts",
        ),
        preds=_per_sentiment(
            negative="is losing money fast | keeps disappointing investors"
            " | is dragging profits down | looks like a costly mistake"
            " | is hurting small businesses"
            " | wiped out years of savings | is a disaster for shareholders"
            " | sent the share price tumbling | left the company deep in debt",
            neutral="is due {when} | will be published {when} | covers the last {few} months"
            " | is expected {when} | is still under review by regulators | is worth about {money}"
            " | follows the usual format | includes figures for {n} regions"
            " | will be discussed at the board meeting on {day}",
            positive="is paying off handsomely | keeps beating expectations"
            " | is driving strong growth | has investors excited | delivers excellent returns"
            " | is a big win for shareholders | sent the share price soaring"
            " | boosted profits across the board | turned the business around",
        ),
        negated_preds=_per_sentiment(
            negative="is not making any money | didn't deliver the promised savings"
            " | is no longer profitable | never paid off",
            neutral="is not due until {month} | has not been published yet"
            " | does not include the overseas figures",
            positive="has not disappointed investors once | never fails to turn a profit"
            " | didn't cost a single job",
        ),
        headlines=_per_sentiment(
            negative="{company} shares plunge {pct}% | {company} to cut {big} jobs"
            " | {company} files for bankruptcy | Profits collapse at {company}"
            " | Markets slump on recession fears | {company} slashes forecast as sales sink"
            " | Inflation squeezes struggling small firms | Investors flee as losses mount"
            " | Factory closure hits {big} workers | {company} fined {money} over misleading sales",
            neutral="{company} to report results on {day} | Central bank holds rates at {pct}%"
            " | {company} names new finance chief | Shareholders to vote on {company} merger"
            " | Oil prices steady in early trading | {company} moves headquarters to {city}"
            " | {company} annual meeting set for {month} | Markets open mixed on {day}"
            " | {company} confirms date for investor day | {company} reports revenue of {money}",
            positive="{company} profits soar {pct}% | Shares surge as {company} beats forecasts"
            " | Record quarter lifts {company} | {company} to create {big} new jobs"
            " | Exports hit an all-time high | Markets rally on strong jobs data"
            " | {company} raises dividend after bumper year | Consumer confidence hits decade high"
            " | Startup lands {money} investment | Upbeat sales lift retail stocks",
        ),
        outcomes=_per_sentiment(
            negative="I lost a fortune | my savings took a huge hit | the fees were outrageous"
            " | the deal fell apart | we are losing money every month",
            neutral="the paperwork took about a week | the figures arrive {when}"
            " | I'll review the numbers {when} | the contract runs for {few} years",
            positive="my portfolio is up {pct}% | the deal went through smoothly"
            " | our profits are finally growing | the returns have been excellent",
        ),
        statements={
            "negative": (
                "Inflation climbed to {pct}% last month, squeezing household budgets even further.",
                "Rents keep rising while wages stay flat, and families are struggling to get by.",
                "Unemployment jumped to its highest level in {few} years as factories shed jobs.",
                "The bank doubled its account fees overnight and customers are furious.",
                "Mortgage rates hit a painful new high, pricing first-time buyers out.",
                "Small shops on the high street are closing at an alarming rate.",
                "The economy shrank for a second quarter in a row and is now in recession.",
                "Customers are still waiting for refunds after the travel agency collapsed.",
                "Consumer spending fell sharply as food and energy prices soared.",
                "The currency crashed to a record low, eroding people's savings.",
                "Warehouse workers were told their jobs will disappear by {month}.",
                "Another profit warning from {company} sent investors running for the exits.",
                "Business owners say soaring energy bills are pushing them to the brink.",
                "The trade war has hammered exporters and cost thousands of jobs.",
                "The insurer rejected my claim after months of excuses, shocking service.",
                "Our restaurant's takings dropped by half this year and we may have to close.",
                "The airline cancelled hundreds of flights after its owner ran out of money.",
                "Petrol prices jumped again and delivery firms are passing the cost to shoppers.",
                "The car factory will shut in {month}, putting {big} people out of work.",
                "Investors lost billions when the crypto exchange collapsed.",
                "Our landlord raised the shop rent by a third and we can barely cover it.",
                "Company bosses awarded themselves huge pay rises while freezing staff salaries.",
                "Dairy farmers are losing money on every litre of milk they sell.",
                "The housing market is stalling, the slowest spring for estate agents in years.",
            ),
            "neutral": (
                "The central bank kept interest rates at {pct}% at its {month} meeting.",
                "The government will publish new inflation figures on {day}.",
                "Quarterly growth figures are due {when}, according to the statistics office.",
                "{company} has about {big} employees and offices in {n} countries.",
                "The trade agreement covers tariffs on cars, steel and farm products.",
                "The stock exchange will close early on {day} for the holiday.",
                "The new minimum wage takes effect in {month}.",
                "Analysts expect the company to report earnings of about {money}.",
                "The firm sells furniture, kitchenware and garden tools through its shops.",
                "The bank offers business accounts, loans and savings products.",
                "Retail sales data for {month} will be released {when}.",
                "The pound was steady against the dollar in morning trading.",
                "Corporate tax returns are due at the end of the quarter.",
                "The two companies have been in merger talks since {month}.",
                "The supermarket chain sources most of its vegetables from local farms.",
                "Shares of {company} closed at {price} on {day}.",
                "The company's financial year ends on the last day of {month}.",
                "Most of the firm's revenue comes from sales in Europe and Asia.",
                "The bank's branch on Market Street opens at nine on weekdays.",
                "The merger still needs approval from competition regulators.",
                "The government sets a new budget for public spending every autumn.",
                "The chain sells groceries, clothes and household goods in {n} stores.",
                "Oil is priced in dollars per barrel on international markets.",
                "The consultancy was founded in {city} by two former accountants.",
            ),
            "positive": (
                "Wages grew faster than prices for the first time in years, a relief for workers.",
                "Unemployment dropped to a record low and employers are hiring at a brisk pace.",
                "The economy grew a healthy {pct}% last quarter, comfortably beating expectations.",
                "Small businesses are thriving thanks to booming local demand.",
                "Inflation finally eased, giving shoppers some much-needed relief.",
                "The family bakery down the road doubled its sales this year.",
                "House sales picked up strongly as mortgage rates fell.",
                "Customers love the bank's new savings account and its generous {pct}% interest.",
                "The merger created a stronger company and lifted shares across the sector.",
                "Tourism revenue hit a record high, a big boost for hotels and restaurants.",
                "The factory reopened and rehired every worker, great news for the region.",
                "Investors are delighted with the steady returns from the pension fund.",
                "The shop had its best holiday season ever, with sales up {pct}%.",
                "Exporters are celebrating a new trade deal that cuts tariffs sharply.",
                "My pay rise came through and the bonus was bigger than I expected.",
                "The farmers' cooperative posted its best harvest income in a decade.",
                "Our online shop just had its busiest week ever and orders keep pouring in.",
                "The car plant is adding a second shift thanks to strong demand for its models.",
                "Share prices climbed for a fifth day as investors cheered strong earnings.",
                "The new trade agreement is already boosting orders for local manufacturers.",
                "Holiday bookings are up sharply and hotels are enjoying a bumper summer.",
                "The company gave every employee a generous bonus after a record year.",
                "Fuel prices fell for the third week running, great news for drivers and hauliers.",
                "The family-run brewery won a lucrative contract to supply pubs nationwide.",
            ),
        },
    ),
    "health": TopicVocab(
        actors=_w(
            "the hospital | the clinic | the health ministry | researchers | doctors"
            " | the health service | the care home | the medical team | {hospital} | {hospital}"
            " | the drug maker | the public health agency | the nursing staff | scientists"
            " | the vaccination programme | the GP surgery"
        ),
        things=_w(
            "the new drug | the vaccine | the treatment | the new therapy | the surgery"
            " | the physiotherapy programme | the emergency room | the medication"
            " | the mental health service | the diet plan | the cancer screening programme"
            " | the maternity unit | the flu jab | the recovery programme | the new heart medicine"
            " | the care at {hospital} | the painkiller | the antibiotic"
        ),
        speakers=_w(
            "the lead researcher | a senior doctor | the health minister | a hospital spokesperson"
            " | one nurse | the chief medical officer | a public health expert | my doctor"
            " | {person}, a cardiologist, | the head of the clinic | one patient"
        ),
        places=_w(
            "on the children's ward | in the intensive care unit | at the local clinic"
            " | in the clinical trial | in the emergency department | across the health service"
            " | in care homes | at the cancer centre"
        ),
        mentions=_w(
            "the flu vaccine campaign | the new hospital wing | the latest diet study"
            " | the health budget | hospital visiting hours | the nurses' conference"
            " | the new fitness guidelines | the blood donation drive | the vaccination drive"
            " | the hospital strike | the new cancer study | the flu season | the drug trial"
            " | the health ministry's report | the sleep research | the nutrition guidelines"
            " | the doctors' strike | the mental health campaign"
        ),
        hashtags=_w("#health | #wellbeing | #medicine | #publichealth | #nursing | #healthcare"),
        experiences=_w(
            "went for a check-up at {hospital} | started a new medication | had surgery on my knee"
            " | got my flu jab | saw a physiotherapist for my back | started therapy"
            " | visited the emergency room | had my blood pressure checked"
            " | took part in a clinical trial"
        ),
        questions=_w(
            "How often should adults get a health check-up?"
            " | What are the opening hours of {hospital}?"
            " | Does anyone know if the flu jab is offered to everyone over {age}?"
            " | How long does recovery from knee surgery usually take?"
            " | Is a referral needed to see a specialist at {hospital}?"
            " | What dose of the medicine should children take?"
            " | When do the results of a blood test usually come back?"
        ),
        events=_per_sentiment(
            negative="reported a surge in flu cases"
            " | left patients waiting {few} hours in the emergency room"
            " | halted the trial after serious side effects | ran out of essential medicines"
            " | was overwhelmed by the outbreak | cancelled hundreds of operations"
            " | faced a severe shortage of nurses | reported a rise in deaths from the virus"
            " | was criticised for poor patient care | recalled a contaminated batch of pills"
            " | struggled to contain the outbreak | lost its best surgeons to burnout"
            " | saw waiting lists grow to record lengths | misdiagnosed dozens of patients"
            " | warned that infections are spreading fast | closed its only cancer ward",
            neutral="published new dietary guidelines | will open a walk-in clinic in {month}"
            " | enrolled {big} volunteers in a study | moved the children's ward to another floor"
            " | updated its advice on sleep and exercise | is running a blood donation drive {when}"
            " | released its annual report on public health | will offer flu shots from {month}"
            " | collected patient data from {n} clinics | changed its visiting hours"
            " | is recruiting participants for a nutrition study"
            " | held a briefing on the vaccination schedule | hired {n} new physiotherapists"
            " | will review its screening policy {when}",
            positive="cut waiting times in half | reported a sharp fall in infections"
            " | launched a treatment that saved hundreds of lives"
            " | saw patient recovery rates improve | made a breakthrough in cancer research"
            " | reduced hospital admissions by {pct}% | opened a modern new children's ward"
            " | got excellent results in the latest trial"
            " | helped thousands of patients recover faster | brought the outbreak under control"
            " | improved care for elderly patients | won praise for its mental health support"
            " | cleared the backlog of surgeries | recorded the lowest infection rate in a decade",
        ),
        negated_events=_per_sentiment(
            negative="did not respond to the treatment | showed no improvement after months of care"
            " | could not find enough nurses for the night shift | failed to stop the virus"
            " | has not reduced its waiting lists | couldn't treat patients in time",
            neutral="has not yet published the trial results"
            " | did not change its vaccination advice"
            " | will not open on public holidays | made no comment on the study"
            " | has not set a date for the new clinic",
            positive="reported no serious side effects | had no infections on the ward this year"
            " | never had to turn a patient away | found no sign of the disease in follow-up scans"
            " | did not lose a single patient during the outbreak",
        ),
        preds=_per_sentiment(
            negative="causes nasty side effects | made my symptoms worse"
            " | is dangerously understaffed"
            " | leaves patients waiting for hours | is failing the sickest patients"
            " | gave me a terrible rash | is overwhelmed by the outbreak | is putting lives at risk"
            " | left my mother in agony",
            neutral="is taken once a day with food | is available at local pharmacies"
            " | opens at {time} on weekdays | requires a referral from a doctor"
            " | takes about {n} minutes | is covered by most insurance plans"
            " | is being studied in {n} hospitals | is offered to adults over {age}"
            " | is scheduled for {when}",
            positive="works remarkably well | really helped my recovery | cut my pain in half"
            " | saves lives every day | gives patients real hope | is making people healthier"
            " | has excellent doctors and caring nurses | helped me sleep much better"
            " | cleared my infection in days",
        ),
        negated_preds=_per_sentiment(
            negative="did not ease my pain at all | isn't helping anyone | no longer works for me"
            " | never has enough beds",
            neutral="is not available on weekends | does not require a prescription"
            " | has not been approved in Europe yet",
            positive="had no side effects for me | never makes you wait long | didn't hurt one bit",
        ),
        headlines=_per_sentiment(
            negative="Flu cases surge across the region | Patients wait {few} hours in crowded A&E"
            " | Drug trial halted over side effects | Staff shortage hits {hospital}"
            " | Outbreak spreads as vaccinations fall | Infected pills recalled"
            " | Cancer waiting lists hit record high | Virus deaths rise again"
            " | Mental health services stretched to breaking point"
            " | Hospital slammed over poor patient care",
            neutral="Health ministry updates dietary guidance | Flu vaccines available from {month}"
            " | {hospital} to open new wing | Study of {big} volunteers begins"
            " | New visiting hours at {hospital} | Clinic opening times change from {day}"
            " | Researchers publish sleep survey data | Blood donation drive planned for {month}"
            " | Health board to meet on {day} | Screening age to be reviewed",
            positive="New drug cuts heart attack risk by {pct}%"
            " | Hospital waiting times fall sharply"
            " | Breakthrough therapy shrinks tumours | Vaccine slashes hospital admissions"
            " | Infection rates drop to record low | {hospital} praised for outstanding care"
            " | Trial hails major advance in diabetes care | Life expectancy rises again"
            " | New clinic brings faster care to rural towns"
            " | Study finds exercise speeds recovery",
        ),
        outcomes=_per_sentiment(
            negative="I feel even worse now | the pain is still awful"
            " | the staff were rude and careless | I waited {few} hours to be seen",
            neutral="the results arrive {when} | the appointment took about {n} minutes"
            " | the doctor will call me {when} | I have a follow-up visit {when}",
            positive="I feel so much better now | my recovery has been amazing"
            " | the doctors were wonderful | I'm finally pain-free",
        ),
        statements={
            "negative": (
                "Rates of diabetes keep climbing, and doctors are deeply worried.",
                "The heatwave sent hundreds of elderly people to hospital with dehydration.",
                "My back pain has been unbearable for weeks and the painkillers barely help.",
                "A new strain of the virus is spreading quickly through schools.",
                "Smoking among teenagers rose for the first time in a decade, an alarming trend.",
                "Ambulances were queuing outside the hospital for hours last night.",
                "I've had a fever and a nasty cough for a week and I feel awful.",
                "Air pollution is causing a worrying rise in asthma among children.",
                "The dentist botched my filling and now my tooth hurts constantly.",
                "Cuts to mental health funding have left vulnerable patients stranded.",
                "Cancer patients face agonising delays for scans and treatment.",
                "Antibiotic resistance is rising, so simple infections may turn deadly.",
                "Heart disease is rising among young adults, researchers warn.",
                "The care home was understaffed, and residents were left hungry and neglected.",
                "My asthma got so bad this winter that I ended up in intensive care.",
                "Food poisoning cases soared after the festival, with dozens taken to hospital.",
                "My grandmother waited eight months for a cataract operation.",
                "The hospital lost my test results twice and I am still waiting for a diagnosis.",
                "A salmonella outbreak linked to a restaurant has made dozens of people ill.",
                "I've been dizzy and exhausted for weeks and the doctors seem baffled.",
                "Sugary drinks are fuelling a sharp rise in tooth decay among children.",
                "The new weight-loss pills are causing serious stomach problems for some patients.",
                "Doctors warn that a shortage of blood donors is putting operations at risk.",
                "Depression and anxiety among students have reached worrying levels.",
            ),
            "neutral": (
                "Adults are advised to eat at least five portions of fruit and vegetables a day.",
                "The flu vaccine is recommended for people over {age} and for pregnant women.",
                "A normal resting heart rate for adults is between 60 and 100 beats per minute.",
                "The pharmacy on the high street is open until {time} on weekdays.",
                "Blood pressure readings include two numbers, systolic and diastolic.",
                "Researchers will compare two asthma inhalers in a trial with {big} patients.",
                "The dentist recommends a check-up every six months.",
                "Patients can book appointments with their doctor online or by phone.",
                "The hospital has {few} operating theatres and an intensive care unit.",
                "Symptoms of a common cold include a runny nose, a sore throat and sneezing.",
                "The new health centre will offer physiotherapy, dental care and eye tests.",
                "The medicine should be stored at room temperature, away from sunlight.",
                "Children usually receive their first vaccinations at eight weeks old.",
                "Guidelines recommend at least 150 minutes of moderate exercise a week.",
                "The nurse will take a blood sample and check your weight and height.",
                "Doctors use an X-ray to check whether a bone is broken.",
                "The clinic offers hearing tests for people over {age}.",
                "A balanced diet includes protein, fibre, fruit and vegetables.",
                "Vitamin C is found in oranges, peppers and broccoli.",
                "The heart pumps blood around the body through arteries and veins.",
                "After this surgery, patients usually stay in hospital for two or three days.",
                "An adult body contains about five litres of blood.",
                "Pharmacists can give advice on minor illnesses such as colds and rashes.",
                "The ward has {few} beds for patients recovering from heart surgery.",
            ),
            "positive": (
                "Survival rates for breast cancer have risen dramatically in twenty years.",
                "I quit smoking six months ago and my breathing is so much better.",
                "The new asthma inhaler has been a game changer for my daughter.",
                "The surgeon was brilliant and my hip replacement went perfectly.",
                "Fewer people are catching malaria thanks to a hugely successful bed net campaign.",
                "My blood pressure is back to a healthy level after a few months of daily walks.",
                "The community mental health team has been a lifeline for so many families.",
                "Scientists developed a simple test that spots cancer early, a remarkable advance.",
                "The paramedics arrived in minutes and saved my father's life.",
                "Child vaccination rates are at their highest level in years.",
                "Losing weight has done wonders for my knees and my energy levels.",
                "The hospital's new fast-track service gets patients their test results in a day.",
                "A daily walk has improved my mood and my sleep enormously.",
                "Smoking rates have fallen to a record low, a huge win for public health.",
                "The physiotherapist fixed my shoulder in just four sessions, I'm so grateful.",
                "The new diabetes drug helps patients control their blood sugar far better.",
                "My new glasses have made reading a pleasure again.",
                "The charity's free eye screenings have caught hundreds of problems early.",
                "Since I started yoga my back pain has almost disappeared.",
                "The midwives were fantastic and my baby was delivered safely.",
                "Researchers found the treatment doubled survival for patients with leukaemia.",
                "A new hearing implant has restored sound for thousands of deaf children.",
                "My cholesterol dropped sharply after I switched to a healthier diet.",
                "The hospital cut infection rates on its wards to almost zero.",
            ),
        },
    ),
    "sports": TopicVocab(
        actors=_w(
            "the team | the club | {team} | {team} | {team} | the home side | the visitors"
            " | the champions | the national team | the squad | the defending champions"
            " | the underdogs | our team | the youth side | the women's team | the relay team"
        ),
        things=_w(
            "the match | the final | the derby | the game | the race | the tournament"
            " | the season | the new stadium | the team's performance | the second half"
            " | the penalty shootout | the marathon | the cup run | the title race"
            " | the opening lap | the semi-final | the away game"
        ),
        speakers=_w(
            "the head coach | the team captain | the manager | a club spokesperson"
            " | the league commissioner | one fan | the striker | the goalkeeper"
            " | {person}, the club's captain, | a former player | the commentator"
        ),
        places=_w(
            "at the stadium | in front of a packed crowd | on home soil | in the league"
            " | at the Olympics | on the final lap | in the cup | at the training ground"
        ),
        mentions=_w(
            "the football final | the Olympic trials | the transfer window | the cup draw"
            " | the marathon | the tennis open | the cricket season | the league table"
            " | the World Cup | the transfer rumours | the Grand Prix | the basketball playoffs"
            " | the golf open | the boxing match | the rugby final | the cycling tour"
            " | the Olympic Games | the derby"
        ),
        hashtags=_w("#football | #matchday | #sport | #gameday | #rugby | #tennis"),
        experiences=_w(
            "watched the match | went to the game at the stadium | ran the city marathon"
            " | played in the local tennis tournament | watched {team} play"
            " | coached my son's football team | went to the cup final | played five-a-side"
        ),
        questions=_w(
            "What time does the match kick off on {day}?"
            " | Who is in the squad for the game against {team}?"
            " | Where is the final being played this year?"
            " | How many teams are in the tournament?"
            " | Is the derby being shown on TV?"
            " | When does the transfer window close?"
            " | Which channel has the race on {day}?"
        ),
        events=_per_sentiment(
            negative="lost {score} at home | were knocked out in the first round"
            " | suffered a humiliating defeat | were relegated after a dreadful season"
            " | lost their star striker to a serious injury | threw away a two-goal lead"
            " | were booed off the pitch | lost {few} matches in a row"
            " | were thrashed {score} by their rivals | sacked their coach after a miserable run"
            " | were fined over a doping scandal | missed a penalty in the final minute"
            " | collapsed in the second half | were eliminated from the playoffs"
            " | finished bottom of the league | conceded {few} goals in one game",
            neutral="will play their next match on {day} | announced the squad for the tournament"
            " | signed a goalkeeper on a two-year contract"
            " | will travel to {city} for the second leg"
            " | held a training session at the stadium | released the fixture list for next season"
            " | confirmed the kickoff time for {day} | named a new team captain"
            " | will face {team2} in the quarter-final | moved training to the indoor centre"
            " | presented their new kit | will play {n} games this season"
            " | will hold a press conference on {day}",
            positive="won the championship | beat their rivals {score}"
            " | pulled off a stunning comeback | reached the final in style"
            " | clinched the title with a game to spare"
            " | extended their unbeaten run to {few} matches"
            " | thrashed the league leaders {score} | qualified for the World Cup"
            " | won the derby with a late goal | broke the club scoring record"
            " | lifted the trophy in front of a delighted crowd | secured a brilliant away win"
            " | won gold at the championships | scored a sensational winner",
        ),
        negated_events=_per_sentiment(
            negative="did not manage a single shot on target"
            " | failed to win any of their last {few} games"
            " | couldn't hold on to their lead | never looked like winning"
            " | did not score in {few} matches | failed to qualify for the finals",
            neutral="have not announced the starting line-up yet"
            " | will not play on {day} because of the international break"
            " | did not hold a press conference | made no changes to the squad",
            positive="did not concede a single goal all tournament | didn't lose a match all season"
            " | never gave up and won in extra time | gave their rivals no chance"
            " | did not drop a single set on the way to the title",
        ),
        preds=_per_sentiment(
            negative="ended in a humiliating defeat | was ruined by awful refereeing"
            " | was painfully dull | ended with a serious injury to the captain"
            " | was a disaster for the home side | left the fans in despair"
            " | was marred by crowd trouble | ended our title hopes",
            neutral="starts at {time} | takes place on {day} | will be shown live on TV"
            " | is held every {few} years | will be played at the national stadium"
            " | lasts about two hours | features {n} teams | begins {when}",
            positive="was an absolute thriller | ended in a famous victory"
            " | had the crowd on its feet | showcased some brilliant football"
            " | delivered one of the best finishes ever | was a joy to watch"
            " | ended with the trophy in our hands | was a perfect day for the fans",
        ),
        negated_preds=_per_sentiment(
            negative="was not worth watching | didn't produce a single chance"
            " | was no contest at all",
            neutral="does not start until {time} | will not be shown on free TV"
            " | has not been rescheduled",
            positive="never had a dull moment | was not even close, we dominated"
            " | didn't disappoint for a second",
        ),
        headlines=_per_sentiment(
            negative="{team} crash out in the first round | {team} thrashed {score} at home"
            " | Star striker ruled out for the season | {team} relegated after dismal campaign"
            " | Coach sacked after {few} straight defeats | Doping scandal rocks the sport"
            " | Fans boo {team} off after humiliating loss | Injury heartbreak for {team}"
            " | Late collapse costs {team} the title | Crowd trouble mars the derby",
            neutral="{team} to face {team2} on {day} | Kickoff time confirmed for cup final"
            " | {team} sign goalkeeper on two-year deal | Squad named for the {month} tournament"
            " | Fixture list released for new season | Tickets for the final on sale {day}"
            " | {team} travel to {city} for second leg | Quarter-final draw set for {day}"
            " | {team} unveil new kit | Season to start in {month}",
            positive="{team} storm to title glory | Stunning comeback seals derby win"
            " | {person} smashes world record | {team} crush rivals {score}"
            " | Unbeaten {team} clinch the league | Last-gasp winner sends {team} into the final"
            " | {person} wins gold in style | Superb {team} qualify for the World Cup"
            " | Record crowd cheers thrilling victory | {team} extend winning run to {few}",
        ),
        outcomes=_per_sentiment(
            negative="we got thrashed | the team played awfully | I pulled a muscle and had to quit"
            " | it was a dull, miserable game",
            neutral="the game ended at about {time} | the next round is {when}"
            " | the results are posted online | it lasted about two hours",
            positive="we won in style | it was a thrilling afternoon | I set a personal best"
            " | the atmosphere was electric",
        ),
        statements={
            "negative": (
                "The referee missed an obvious penalty and cost us the game.",
                "Our goalkeeper let in three soft goals, a nightmare afternoon.",
                "The tennis star crashed out in the second round after a dismal display.",
                "Ticket prices at the stadium are a rip-off, and the view is terrible.",
                "The cyclist was stripped of his title after failing a drug test.",
                "The basketball team blew a fifteen-point lead in the final quarter.",
                "Our club's owners are running it into the ground.",
                "The fast bowler limped off with a hamstring injury, a big blow for the series.",
                "The race was marred by a horrible crash on the final lap.",
                "Fans were left furious after the club sold its best player to a rival.",
                "The boxer was knocked out in the first round in an embarrassing defeat.",
                "The golfer's final round fell apart with three double bogeys.",
                "The home side were bowled out cheaply in a shocking batting collapse.",
                "The driver crashed out on the opening lap of the Grand Prix, a miserable weekend.",
                "Our rugby team got hammered again and the coach seems clueless.",
                "The pitcher gave up five runs in the first inning and the crowd turned on him.",
                "The ski race was called off because of poor snow, a huge letdown.",
                "The striker missed three easy chances, a dreadful performance.",
                "Our defence was a shambles and we conceded five goals.",
                "The umpire's terrible call cost the home team the match.",
                "The marathon runner collapsed in the heat and had to be carried off.",
                "Season ticket holders are angry that the club moved the game to a Monday night.",
                "The star player's contract dispute has turned the dressing room toxic.",
                "The national side crashed out of the tournament after losing every game.",
            ),
            "neutral": (
                "The tennis final is scheduled for {time} on {day}.",
                "The basketball team plays {few} home games this season.",
                "The cricket series consists of three test matches and five one-day games.",
                "The motor racing season begins in {month} with a race in {city}.",
                "The goalkeeper has made over {n} appearances for the club.",
                "The golf tournament is played over four rounds.",
                "The transfer window closes at midnight on {day}.",
                "The league uses video replays to check goals and penalties.",
                "The cycling race covers about 3,500 kilometres over three weeks.",
                "The swimming championships will be held in {city} next summer.",
                "The boxer weighed in at 70 kilograms ahead of the fight.",
                "Season tickets for the club can be renewed from {month}.",
                "The team's training ground is just outside {city}.",
                "The rugby match will be broadcast live on {day} evening.",
                "Each team is allowed five substitutions during the match.",
                "The ski jumping event was moved to the morning session.",
                "The referee will be assisted by video officials during the final.",
                "The Olympic Games take place every four years.",
                "A rugby union team has fifteen players on the field.",
                "The ice hockey season runs until {month}.",
                "The player joined the club from a rival team in the summer.",
                "Tickets for the match cost between twenty and sixty pounds.",
                "The athletics meeting includes sprints, hurdles and the long jump.",
                "The coach will name the starting line-up an hour before kickoff.",
            ),
            "positive": (
                "The rookie scored thirty points in a dazzling debut.",
                "What a goal! An incredible strike from thirty yards to win the game.",
                "The cyclist soared to victory on a breathtaking mountain stage.",
                "The veteran golfer won the tournament with a superb final round.",
                "Our little local club won promotion after an amazing season.",
                "The home side completed a famous victory over the reigning champions.",
                "The sprinter ran a blistering personal best to take the gold medal.",
                "The boxer produced a stunning knockout to win the world title.",
                "The basketball team won their tenth straight game, an impressive streak.",
                "Fans celebrated in the streets after the team lifted the cup.",
                "The tennis player battled back from two sets down to win a thrilling match.",
                "The women's team were magnificent, dominating every game of the tournament.",
                "The spin bowler took six wickets in a brilliant spell.",
                "My son's football team won their first trophy today and the kids were overjoyed.",
                "The driver took pole position and cruised to a dominant win in the Grand Prix.",
                "The relay team set a new national record, a fantastic night on the track.",
                "Our captain scored a hat-trick and we won the cup final!",
                "The teenager became the youngest player ever to win the championship.",
                "The ski racer claimed a sensational victory in the downhill.",
                "The crowd gave the team a standing ovation after a magnificent display.",
                "The swimmer won three gold medals, an extraordinary achievement.",
                "The new signing has been superb, scoring in each of his first five games.",
                "The fans are buzzing after the club's best season in decades.",
                "Our local cricket club won the league for the first time in its history.",
            ),
        },
    ),
    "technology": TopicVocab(
        actors=_w(
            "the company | {techco} | {techco} | {techco} | the startup | the chip maker"
            " | the software team | the developers | the tech giant | the security team"
            " | the phone maker | the open-source project | the game studio | the cloud provider"
            " | the app developer | the engineers"
        ),
        things=_w(
            "the new app | the latest update | this laptop | the new smartphone | the smartwatch"
            " | the operating system | the search engine | the website | the new headset"
            " | the cloud service | the router | the game console | {product} | {product}"
            " | the new processor | the password manager | the video editor | the home assistant"
        ),
        speakers=_w(
            "the chief technology officer | a software engineer | a security researcher"
            " | the product manager | one reviewer | a spokesperson for the company"
            " | the lead developer | {person}, a tech analyst, | one early user | the founder"
        ),
        places=_w(
            "at its developer conference | in the app store | on its cloud platform"
            " | in the latest software release | on social media | in its product launch"
            " | across its data centres | in the beta version"
        ),
        mentions=_w(
            "the new smartphone launch | the software update | the AI conference"
            " | the latest gadget reviews | the new operating system | the chip shortage"
            " | the video game release | the electric car software | the phone launch event"
            " | the data privacy debate | the new games console | the app store changes"
            " | the AI chatbot craze | the cybersecurity summit | the laptop reviews"
            " | the broadband rollout | the new chip announcement | the social media trial"
        ),
        hashtags=_w("#tech | #gadgets | #software | #AI | #android | #coding"),
        experiences=_w(
            "installed the latest update | bought {product} | tried the new app"
            " | upgraded my laptop | set up the new router | switched to a new cloud service"
            " | built my own gaming PC | moved my photos to the new storage service"
        ),
        questions=_w(
            "How do I change the default browser on {product}?"
            " | Does {product} support wireless charging?"
            " | When is the next version of the operating system coming out?"
            " | Which programming language is the app written in?"
            " | How much storage does {product} have?"
            " | Is the update compatible with older laptops?"
            " | What is the release date of the new console?"
        ),
        events=_per_sentiment(
            negative="leaked the personal data of {n} million users"
            " | pushed an update that broke thousands of devices | suffered a major server outage"
            " | shipped a phone riddled with bugs"
            " | recalled {big} laptops over overheating batteries"
            " | was hit by a ransomware attack | delayed its flagship launch again"
            " | broke the login page for hours | shut down its popular app with little warning"
            " | was caught secretly tracking its users | lost customer files in a storage failure"
            " | released a buggy, sluggish version of its software",
            neutral="will unveil its new tablet in {month} | released version {ver} of its software"
            " | opened a research lab in {city} | moved its servers to a new data centre"
            " | announced a developer conference for {month}"
            " | published the technical specifications of its new chip"
            " | updated its privacy policy | will end support for older models in {month}"
            " | started testing a new search feature | hired a new head of engineering"
            " | will ship the device in {n} countries | switched its code to a new database",
            positive="released a brilliant update | launched a laptop with outstanding battery life"
            " | shipped a faster, more secure version of its software"
            " | won praise for its new headphones | doubled the speed of its search engine"
            " | delivered a smooth, stable software release"
            " | patched the security hole within hours"
            " | built a remarkably efficient processor | made its cloud service far more reliable"
            " | launched a superb camera phone | won a design award for its app",
        ),
        negated_events=_per_sentiment(
            negative="did not fix the battery problem | failed to protect its users' passwords"
            " | never answered my support tickets | couldn't get the servers back online"
            " | did not test the update properly",
            neutral="has not announced a release date | did not reveal the price"
            " | will not attend the trade show this year | made no changes to its privacy terms",
            positive="did not have a single outage this year | never lost any customer data"
            " | didn't raise prices despite the upgrades | had no trouble handling the traffic",
        ),
        preds=_per_sentiment(
            negative="keeps crashing | drains the battery in a few hours | freezes constantly"
            " | is painfully slow | is full of bugs | overheats after ten minutes"
            " | lost all my files | disconnects all the time | is a security nightmare"
            " | got slower after the update",
            neutral="is available for download | runs on Android and iOS | has {gb} GB of storage"
            " | comes in three colours | ships in {month} | uses a {few}-core processor"
            " | requires the latest operating system | supports {n} languages"
            " | is priced at {price}"
            " | receives updates every month",
            positive="runs blazing fast | works flawlessly | has a gorgeous screen"
            " | lasts two full days on a charge | installs in seconds"
            " | makes my daily work so much easier | feels incredibly smooth and responsive"
            " | is packed with clever features | syncs perfectly across all my devices"
            " | gets better with every update",
        ),
        negated_preds=_per_sentiment(
            negative="doesn't work properly | won't connect to the wifi | never holds a charge"
            " | can't handle more than two apps at once",
            neutral="is not available in stores yet | doesn't require an account"
            " | will not support older phones",
            positive="never crashes | hasn't let me down once | doesn't slow down at all"
            " | has no lag whatsoever",
        ),
        headlines=_per_sentiment(
            negative="Data breach exposes {n} million accounts | {techco} update bricks phones"
            " | {product} recalled over overheating batteries | App crashes leave users fuming"
            " | Server outage takes {techco} offline for hours | Ransomware hits {techco}"
            " | Buggy software release frustrates users | {techco} slammed for privacy failures"
            " | Battery drain complaints pile up | {techco} delays flagship phone again",
            neutral="{techco} to unveil new phone in {month} | Version {ver} now available"
            " | {techco} opens research lab in {city} | New chip has {few} cores"
            " | Developer conference set for {city} in {month}"
            " | {techco} names new engineering chief"
            " | {product} to ship in {month} | {techco} updates privacy policy"
            " | {techco} moves servers to new data centre | {product} priced at {price}",
            positive="{techco} unveils blazing-fast new chip | Update fixes major bugs"
            " | {product} battery life impresses reviewers | {techco} app wins design award"
            " | New phone camera stuns in low light | Faster broadband arrives in rural towns"
            " | {techco} search gets twice as fast | Reviewers love {product}"
            " | {techco} cloud hits record reliability | Superb new laptop from {techco}",
        ),
        outcomes=_per_sentiment(
            negative="my laptop keeps freezing | I lost all my photos | it crashes every hour"
            " | the battery dies by lunchtime",
            neutral="the installation took about {n} minutes | it needed a restart to finish"
            " | the settings are in the main menu | it uses about {gb} GB",
            positive="everything runs so smoothly | my phone feels brand new | it works perfectly"
            " | the speed is incredible",
        ),
        statements={
            "negative": (
                "My phone's screen cracked after a tiny drop, terrible build quality.",
                "The new social media feed is cluttered with ads and painfully slow.",
                "The printer driver update broke printing for everyone in the office.",
                "Scammers are sending fake text messages to steal people's passwords.",
                "The video call software froze during every meeting this week.",
                "The game launched full of glitches and the servers kept failing.",
                "The cloud storage service lost my files and its support team was useless.",
                "Spam emails have been flooding my inbox since the filter update.",
                "A computer virus infected thousands of office machines and encrypted their files.",
                "The smartwatch's step counter is wildly inaccurate.",
                "The new keyboard feels mushy and the keys keep sticking.",
                "The voice assistant misunderstands almost everything I say.",
                "Streaming keeps buffering on my new smart TV, really annoying.",
                "The online banking app logged me out five times today, so annoying.",
                "The company's website is a maze of broken links and pop-ups.",
                "My tablet became unbearably sluggish after the last system update.",
                "The new laptop's fan is so loud I can barely hear my music.",
                "The phone update removed features I used every day, a terrible decision.",
                "Cybercriminals stole millions of customer records in the latest hack.",
                "My internet connection keeps cutting out during video calls.",
                "The self-driving software made a dangerous mistake at the junction.",
                "The app's latest version is bloated, slow and eats up storage.",
                "Thousands of users were locked out of their accounts by a login bug.",
                "The printer refuses to work with anything except the official ink cartridges.",
            ),
            "neutral": (
                "The laptop weighs 1.2 kilograms and has a 14-inch screen.",
                "The app can be downloaded from the app store for free.",
                "The company released a software patch for its routers on {day}.",
                "The phone supports 5G and has a {gb} GB storage option.",
                "The operating system update is rolling out gradually over the next two weeks.",
                "The data centre gets part of its electricity from solar panels.",
                "The project's code is hosted in a public repository and reviewed by volunteers.",
                "The robot vacuum maps each room with a laser sensor.",
                "The game console will cost {price} at launch.",
                "The cable supports charging speeds of up to 65 watts.",
                "The headset connects over Bluetooth and USB-C.",
                "Engineers are testing a new version of the search algorithm.",
                "The website stores user passwords in encrypted form.",
                "The smart TV has four HDMI ports and a built-in streaming app.",
                "Programmers write the firmware in C and test it on real hardware.",
                "The printer connects to the office network over wifi.",
                "The laptop has two USB ports and a headphone jack.",
                "The app requires an internet connection to sync data.",
                "The company's servers are located in data centres near {city}.",
                "The new version of the programming language adds a few features for developers.",
                "The camera module has a 50-megapixel sensor.",
                "The keyboard shortcut opens the search bar.",
                "The phone's battery capacity is 5,000 mAh.",
                "The warehouse robot uses cameras and sensors to find its way around.",
            ),
            "positive": (
                "The new graphics card runs every game at maximum settings, amazing performance.",
                "The translation app worked perfectly on my trip, a real lifesaver.",
                "My new e-reader has a gorgeous screen and the battery lasts for weeks.",
                "The team shipped a beautiful redesign of the app and users love it.",
                "The robot vacuum keeps my floors spotless, best purchase ever.",
                "Fibre broadband finally arrived in our village and it is lightning fast.",
                "The new version of the photo editor is so intuitive, I'm impressed.",
                "Researchers built a battery that charges in five minutes, an exciting advance.",
                "The voice assistant finally understands my accent perfectly, a huge improvement.",
                "Video calls are crystal clear with the new webcam.",
                "Switching to a password manager made my accounts so much safer.",
                "The game's online mode runs smoothly and the graphics are stunning.",
                "Our move to the cloud went flawlessly, with zero downtime.",
                "The startup's AI model writes code remarkably well.",
                "The new phone charges fully in twenty minutes, brilliant engineering.",
                "The coding course was excellent and I built my first website in a week.",
                "The new smartwatch is beautifully made and the battery lasts a week.",
                "Our new code review tool has made software releases so much smoother.",
                "The new tablet's stylus feels like a real pen on paper, wonderful for drawing.",
                "The satellite internet service is surprisingly fast, even in the mountains.",
                "Security researchers quickly stopped the cyberattack, protecting millions.",
                "The game developers released a free expansion and players love it.",
                "My new mechanical keyboard is a joy to type on.",
                "The open-source library is beautifully documented and easy to use.",
            ),
        },
    ),
}

SENTIMENTS: dict[str, SentimentVocab] = {
    "negative": SentimentVocab(
        adjectives=_w(
            "terrible | awful | disappointing | dreadful | poor | worrying | alarming"
            " | frustrating | disastrous | shocking | miserable | embarrassing | unacceptable"
            " | painful | abysmal | pathetic | horrible | dismal | appalling | depressing | useless"
        ),
        intensifiers=_w("really | truly | absolutely | incredibly | so | utterly | deeply"),
        feelings=_w(
            "I hate | I'm fed up with | I'm so disappointed by | I'm sick of | I'm angry about"
            " | I'm really worried about | I regret trusting | I'm annoyed by | I'm tired of"
        ),
        openers=_w(
            "Sadly, | Unfortunately, | Ugh, | Bad news: | Worryingly, | Terrible news:"
            " | Disappointing: | Awful day: | Seriously, | Oh dear,"
        ),
        closers=_w(
            "What a mess. | Totally unacceptable. | Avoid. | Such a letdown. | Really sad to see."
            " | One star. | Absolutely shameful. | What a disaster. | So frustrating."
            " | Someone should be held responsible. | Awful. | Very disappointing."
        ),
        descriptions=_w(
            "a complete disaster | a huge disappointment | deeply worrying | a shambles"
            " | the worst in years | an embarrassment | a serious failure | a painful blow"
        ),
        news=_w("Terrible news | Bad news | Awful news | Grim news | Sad news"),
        questions=_w(
            "Why is {thing} so {adj}? | How did {thing} get this {adj}?"
            " | Did anyone else hear that {actor} {event}? | Is anyone else fed up with {thing}?"
            " | Who thought {thing} was a good idea? It is {adj}."
        ),
        negated=_w(
            "not good | not good enough | not worth the money | not impressive at all"
            " | nowhere near good enough | not what anyone hoped for | no better than last time"
            " | not great, to be honest | not up to standard"
        ),
        negated_closers=_w(
            "Not impressed. | Never again. | Not worth it. | I can't believe it. | Don't bother."
            " | No thanks."
        ),
    ),
    "neutral": SentimentVocab(
        adjectives=_w(
            "on schedule | unchanged from last year | in line with expectations | fairly standard"
            " | much the same as before | typical for this time of year | similar to last year's"
            " | as expected | listed on the official website | open to the public"
        ),
        intensifiers=(),
        feelings=_w(
            "I read about | I just heard about | I'm looking into | I checked the details of"
            " | I asked a colleague about | I saw a report on | I'm reading up on"
            " | My neighbour mentioned | I wrote down the details of"
        ),
        openers=_w(
            "Update: | For the record, | In other news, | Reminder: | As announced earlier,"
            " | Officially, | Note: | FYI, | Quick update: | Meanwhile,"
        ),
        closers=_w(
            "More details are expected {when}. | The full statement is on the website."
            " | Further updates will follow. | A final decision is expected {when}."
            " | Details are in the official notice. | Registration closes {when}."
            " | The next update is due {when}. | A spokesperson confirmed the timetable."
        ),
        descriptions=_w(
            "a routine step | standard practice | part of the usual schedule | a scheduled change"
            " | an administrative matter | a normal part of the process"
        ),
        news=_w("News | An update | A quick note | An announcement | Schedule change"),
        questions=_w(
            "Does anyone know if {actor} {event}? | Is it true that {actor} {event}?"
            " | When is {thing} due? | Where can I find details about {thing}?"
            " | How does {thing} work? | Who is in charge of {thing}?"
            " | Has there been any update on {thing}?"
        ),
        negated=_w(
            "not expected to change | not yet confirmed | not scheduled until {month}"
            " | not open on weekends | no different from last year"
        ),
        negated_closers=_w(
            "No further details were given. | No decision has been made yet."
            " | The date has not been confirmed. | Neither side commented."
        ),
    ),
    "positive": SentimentVocab(
        adjectives=_w(
            "excellent | fantastic | impressive | brilliant | outstanding | superb | wonderful"
            " | great | remarkable | encouraging | terrific | exceptional | amazing | fabulous"
            " | first-class | delightful | stunning | promising | reassuring | inspiring"
            " | spectacular"
        ),
        intensifiers=_w("really | truly | absolutely | incredibly | genuinely | so | seriously"),
        feelings=_w(
            "I love | I really like | I'm impressed by | I'm delighted with | I'm so happy with"
            " | I'm thrilled about | I'm grateful for | I'm a big fan of | I'm excited about"
        ),
        openers=_w(
            "Great news: | Finally! | Wow, | Good news: | Brilliant news: | Happy to report that"
            " | What a day: | Fantastic: | Love this: | Yes!"
        ),
        closers=_w(
            "Highly recommended. | Love it! | Well done to everyone involved. | Great job!"
            " | So proud. | This is a big win. | Five stars. | Best news all week. | Keep it up!"
            " | What a result! | Brilliant. | Absolutely thrilled."
        ),
        descriptions=_w(
            "a huge success | a fantastic result | a real breakthrough | excellent news"
            " | the best in years | a triumph | a major step forward | a wonderful achievement"
        ),
        news=_w("Great news | Wonderful news | Good news | Exciting news | Fantastic news"),
        questions=_w(
            "How is {thing} this {adj}? | Has anyone else noticed how {adj} {thing} is?"
            " | Did you see that {actor} {event}? | Who else thinks {thing} is {adj}?"
            " | Can we talk about how {adj} {thing} was?"
        ),
        negated=_w(
            "not bad at all | not disappointing in the slightest | nothing short of brilliant"
            " | never boring | not half bad | not as bad as people feared, it was actually great"
            " | not too shabby"
        ),
        negated_closers=_w(
            "No complaints at all. | Couldn't be happier. | Can't recommend it enough."
            " | Nothing to complain about. | Never been happier. | No regrets."
        ),
    ),
}

# Distractor clauses: another topic is mentioned, neutrally, without changing either label.
_DISTRACTOR_PREFIXES = _w(
    "While everyone was talking about {m}, | With {m} all over the news,"
    " | Even though I mostly follow {m}, | Just as {m} got underway,"
    " | Between updates on {m}, | Although {m} dominated the headlines this week,"
    " | Amid all the coverage of {m}, | Away from {m},"
)
_DISTRACTOR_SUFFIXES = _w(
    ", even as {m} dominated the headlines | , while my friends were busy discussing {m}"
    " | , just days after {m} | , although most people were focused on {m}"
    " | , on the same day as {m} | , as the news about {m} kept coming in"
    " | , while I was reading about {m}"
)
_WHEN = _w(
    "on Monday | on Tuesday | on Wednesday | on Thursday | on Friday | this week | last week"
    " | yesterday | this morning | earlier today | last night | this quarter | this year"
    " | after months of speculation | for the second time this year"
)


# --------------------------------------------------------------------------------------------
# Sentence shapes. Each takes a row context and returns one text (before slot filling).
# --------------------------------------------------------------------------------------------
@dataclass
class _Row:
    r: random.Random
    t: TopicVocab
    s: SentimentVocab
    sentiment: str

    def pick(self, options: Sequence[str]) -> str:
        return self.r.choice(options)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def actor(self) -> str:
        return self.pick(self.t.actors)

    def thing(self) -> str:
        return self.pick(self.t.things)

    def subject(self) -> str:
        """A thing or a news item, for shapes where any noun phrase fits ("X was awful").

        Distractor mentions are used here in their own topic too, so that they never become
        features *against* their topic.
        """
        return self.pick(self.t.mentions if self.chance(0.3) else self.t.things)

    def event(self) -> str:
        return self.pick(self.t.events[self.sentiment])

    def pred(self) -> str:
        return self.pick(self.t.preds[self.sentiment])

    def adj(self) -> str:
        """An adjective, sometimes intensified ("truly awful")."""
        word = self.pick(self.s.adjectives)
        if self.s.intensifiers and self.chance(0.35):
            return f"{self.pick(self.s.intensifiers)} {word}"
        return word

    def when(self, event: str) -> str:
        """An optional time adjunct, only for past-tense events that carry no time of their own."""
        if "{" in event or "will " in event or " is " in f" {event}" or not self.chance(0.35):
            return ""
        return " " + self.pick(_WHEN)

    def copula(self) -> str:
        return self.pick(("is", "was", "is", "has been", "was"))

    def speaker(self) -> str:
        return self.pick(self.t.speakers)


def _statement(x: _Row) -> str:
    e = x.event()
    return f"{x.actor()} {e}{x.when(e)}."


def _statement_place(x: _Row) -> str:
    e = x.event()
    return f"{x.actor()} {e} {x.pick(x.t.places)}{x.when(e)}."


def _thing_pred(x: _Row) -> str:
    return f"{x.thing()} {x.pred()}."


def _thing_adj(x: _Row) -> str:
    return f"{x.subject()} {x.copula()} {x.adj()}."


def _review(x: _Row) -> str:
    return f"{x.pick(x.s.feelings)} {x.thing()}: it {x.pred()}."


def _short_review(x: _Row) -> str:
    adj = x.adj()
    return f"{x.subject()}? {adj[0].upper()}{adj[1:]}. {x.pick(x.s.closers)}"


def _headline(x: _Row) -> str:
    return x.pick(x.t.headlines[x.sentiment])


def _question(x: _Row) -> str:
    if x.sentiment == "neutral" and x.chance(0.5):
        return x.pick(x.t.questions)
    q = x.pick(x.s.questions)
    return (
        q.replace("{thing}", x.subject())
        .replace("{actor}", x.actor())
        .replace("{event}", x.event())
        .replace("{adj}", x.adj())
    )


def _reported(x: _Row) -> str:
    return f"{x.speaker()} said {x.actor()} {x.event()}."


def _reported_thing(x: _Row) -> str:
    return f"{x.speaker()} said that {x.thing()} {x.pred()}."


def _quote(x: _Row) -> str:
    thing = x.thing()
    return f'"{thing[0].upper()}{thing[1:]} {x.pred()}," {x.speaker()} said.'


def _according(x: _Row) -> str:
    e = x.event()
    return f"According to {x.speaker()}, {x.actor()} {e}{x.when(e)}."


def _described(x: _Row) -> str:
    verb = x.pick(("described", "called", "labelled"))
    prep = " as" if verb == "described" else ""
    return f"{x.speaker()} {verb} {x.subject()}{prep} {x.pick(x.s.descriptions)}."


def _tweet(x: _Row) -> str:
    text = f"{x.pick(x.s.openers)} {x.actor()} {x.event()}"
    end = x.pick(("!", "!!", ".", "", " :)")) if x.sentiment == "positive" else x.pick((".", ""))
    text = f"{text}{end} {x.pick(x.t.hashtags)}"
    return text.lower() if x.chance(0.3) else text


def _compound(x: _Row) -> str:
    joiner = x.pick((", and", ", while", ";", ". Meanwhile,", ", and meanwhile"))
    return f"{x.actor()} {x.event()}{joiner} {x.thing()} {x.pred()}."


def _experience(x: _Row) -> str:
    when = x.pick(("", " last week", " yesterday", " this morning", " recently", " on Saturday"))
    link = x.pick((" and ", ", and ", ". ", " - "))
    return f"I {x.pick(x.t.experiences)}{when}{link}{x.pick(x.t.outcomes[x.sentiment])}."


def _experience_verdict(x: _Row) -> str:
    return f"I {x.pick(x.t.experiences)}, and honestly it was {x.adj()}."


def _news_for(x: _Row) -> str:
    return f"{x.pick(x.s.news)} {x.pick(x.t.places)}: {x.actor()} {x.event()}."


def _opener_statement(x: _Row) -> str:
    e = x.event()
    return f"{x.pick(x.s.openers)} {x.actor()} {e}{x.when(e)}."


def _fact(x: _Row) -> str:
    return x.pick(x.t.statements[x.sentiment])


def _fact_reported(x: _Row) -> str:
    fact = _fact(x)
    if fact.endswith("."):
        return f'"{fact[:-1]}," {x.speaker()} said.'
    return f"{fact} That is how {x.speaker()} put it."


def _fact_opener(x: _Row) -> str:
    opener, fact = x.pick(x.s.openers), _fact(x)
    if opener.endswith(",") and re.match(r"(The|A|Our|My) ", fact):
        fact = fact[0].lower() + fact[1:]
    return f"{opener} {fact}"


_SHAPES: tuple[Callable[[_Row], str], ...] = (
    _fact, _fact, _fact, _fact, _fact_reported, _fact_opener,
    _statement, _statement, _statement_place, _thing_pred, _thing_pred, _thing_adj, _review,
    _short_review, _headline, _headline, _question, _reported, _reported_thing, _quote,
    _according, _described, _tweet, _compound, _experience, _experience, _experience_verdict,
    _news_for, _opener_statement,
)  # fmt: skip


# Negated shapes: the sentiment is carried by a negated phrase (every one contains a negation).
def _neg_statement(x: _Row) -> str:
    return f"{x.actor()} {x.pick(x.t.negated_events[x.sentiment])}."


def _neg_thing(x: _Row) -> str:
    return f"{x.thing()} {x.pick(x.t.negated_preds[x.sentiment])}."


def _neg_generic(x: _Row) -> str:
    lead = x.pick(("", "", "Honestly, ", "To be fair, ", "I have to say "))
    return f"{lead}{x.subject()} {x.copula()} {x.pick(x.s.negated)}."


def _neg_reported(x: _Row) -> str:
    return f"{x.speaker()} said {x.actor()} {x.pick(x.t.negated_events[x.sentiment])}."


def _neg_review(x: _Row) -> str:
    return f"{x.pick(x.s.feelings)} {x.subject()}. {x.pick(x.s.negated_closers)}"


def _neg_opener(x: _Row) -> str:
    return f"{x.pick(x.s.openers)} {x.actor()} {x.pick(x.t.negated_events[x.sentiment])}."


def _neg_tweet(x: _Row) -> str:
    text = f"{x.thing()} {x.pick(x.t.negated_preds[x.sentiment])} {x.pick(x.t.hashtags)}"
    return text.lower() if x.chance(0.3) else text


_NEGATED_SHAPES: tuple[Callable[[_Row], str], ...] = (
    _neg_statement, _neg_statement, _neg_thing, _neg_thing, _neg_generic, _neg_reported,
    _neg_review, _neg_opener, _neg_tweet,
)  # fmt: skip


def _follow_up(x: _Row) -> str:
    """A second sentence in the same sentiment, for the long tail of lengths."""
    kind = x.r.randrange(4)
    if kind == 0:
        return x.pick(x.s.closers)
    if kind == 1:
        speaker = x.speaker()
        return f"{speaker[0].upper()}{speaker[1:]} called it {x.pick(x.s.descriptions)}."
    if kind == 2:
        thing = x.thing()
        return f"{thing[0].upper()}{thing[1:]} {x.pred()} as well."
    actor = x.actor()
    return f"Elsewhere, {actor} {x.event()}."


def _add_distractor(x: _Row, text: str, topic: str) -> str:
    others = [k for k in TOPICS if k != topic]
    mention = x.pick(TOPICS[x.pick(others)].mentions)
    lowered = text[:1].lower() + text[1:]
    # A prefix only where lower-casing the first word is safe (not a name, not "I").
    simple = not any(c in text for c in '?":#')  # one plain sentence: safe to wrap
    if x.chance(0.5) and simple and re.match(r"(the|this|my|our|a|an) ", lowered):
        return x.pick(_DISTRACTOR_PREFIXES).replace("{m}", mention) + " " + lowered
    core, end = (text[:-1], text[-1]) if text[-1] in ".!?" else (text, "")
    if '"' in core or "#" in core or ":" in core or "?" in core or ". " in core:
        return f"{text} This came {x.pick(('on the same day as', 'just after'))} {mention}."
    return core + x.pick(_DISTRACTOR_SUFFIXES).replace("{m}", mention) + (end or ".")


def _sentence(r: random.Random, topic: str, sentiment: str, negated: bool, distractor: bool) -> str:
    x = _Row(r=r, t=TOPICS[topic], s=SENTIMENTS[sentiment], sentiment=sentiment)
    text = r.choice(_NEGATED_SHAPES if negated else _SHAPES)(x)
    if distractor:
        text = _add_distractor(x, text, topic)
    # Long tail: sometimes one or two more sentences in the same sentiment.
    while r.random() < 0.22:
        text = f"{text} {_follow_up(x)}"
    text = _fill(r, text)
    return text[0].upper() + text[1:]


def _check_labels(labels: Sequence[str], known: Mapping[str, object], what: str) -> list[str]:
    labels = list(labels)
    if not labels:
        raise ValueError(f"{what} must name at least one label")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{what} labels must be unique, got {labels}")
    for label in labels:
        if label not in known:
            raise ValueError(
                f"{what} label {label!r} has no vocabulary in the synthetic generator; "
                f"known {what} labels: {sorted(known)}"
            )
    return labels


def _apply_noise(
    labels: list[str], choices: list[str], rate: float, rng: np.random.Generator
) -> list[str]:
    """Replace round(rate * n) labels, chosen at random, by a random *other* label."""
    out = list(labels)
    if len(choices) < 2 or rate <= 0:
        return out
    for i in rng.choice(len(out), size=round(rate * len(out)), replace=False):
        others = [c for c in choices if c != out[i]]
        out[i] = others[int(rng.integers(len(others)))]
    return out


def generate_synthetic(
    rows: int,
    seed: int,
    topics: Sequence[str] = DEFAULT_TOPICS,
    sentiments: Sequence[str] = DEFAULT_SENTIMENTS,
    label_noise: float = 0.02,
    negation_rate: float = 0.25,
    distractor_rate: float = 0.2,
) -> pd.DataFrame:
    """``rows`` unique labelled sentences (columns text, topic, sentiment), the same for a seed.

    Every (topic, sentiment) pair gets ``rows // pairs`` rows, or one more; then ``label_noise``
    of the rows, per task independently, get a random other label. Raises ValueError for a label
    without vocabulary, a rate outside [0, 1] or a negative row count.
    """
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 0:
        raise ValueError(f"rows must be a non-negative integer, got {rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    for name, value in (
        ("label_noise", label_noise),
        ("negation_rate", negation_rate),
        ("distractor_rate", distractor_rate),
    ):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be within [0, 1], got {value!r}")
    topic_labels = _check_labels(topics, TOPICS, "topic")
    sentiment_labels = _check_labels(sentiments, SENTIMENTS, "sentiment")

    r = random.Random(int(seed))
    pairs = [(t, s) for t in topic_labels for s in sentiment_labels]
    plan = pairs * (rows // len(pairs)) + r.sample(pairs, rows % len(pairs))
    r.shuffle(plan)

    texts: list[str] = []
    seen: set[str] = set()
    for topic, sentiment in plan:
        negated = r.random() < negation_rate
        distractor = r.random() < distractor_rate
        for _ in range(_MAX_ATTEMPTS):
            text = _sentence(r, topic, sentiment, negated, distractor)
            if text not in seen and MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                break
        else:
            raise RuntimeError(
                f"could not find a new unique sentence for ({topic}, {sentiment}) after "
                f"{_MAX_ATTEMPTS} tries at row {len(texts)}; ask for fewer rows"
            )
        seen.add(text)
        texts.append(text)

    noise_rngs = [np.random.default_rng([int(seed), k]) for k in (1, 2)]
    topic_col = _apply_noise([t for t, _ in plan], topic_labels, label_noise, noise_rngs[0])
    sentiment_col = _apply_noise([s for _, s in plan], sentiment_labels, label_noise, noise_rngs[1])
    return pd.DataFrame({"text": texts, "topic": topic_col, "sentiment": sentiment_col})
