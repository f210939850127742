"""Framework-free business rules of the assistant, one module per capability.

Nothing here imports aiogram, FastAPI or the NLU: plain typed objects in and out, domain errors
raised (:mod:`services.errors`, each with a stable ``code``). Transactions have one owner, the
caller's unit of work (the bot's per update, the console's per request, a command's for its
run): services flush and never commit, except the two writers that run beside the updates in
transactions of their own, the eligibility store's group commit and the outbox's sender (and,
likewise, the bot's buffered intent-log writer). A refusal commits what was recorded before it.

- :mod:`services.settings` — the one settings object (``config.yml`` + environment), every
  section typed;
- :mod:`services.clock` — ``Clock``, ``SystemClock``, ``FixedClock``, ``StartedClock`` and
  ``product_clock`` (Asia/Tehran; ``TAMIN_CLOCK_START`` for the sandbox and tests);
- :mod:`services.enums`, :mod:`services.errors` — the closed vocabularies and the refusals;
- :mod:`services.common` — tracking codes, audit entries, chat users, reads outside a
  transaction;
- :mod:`services.db` — tables, engine/session factories, Alembic migrations, direct reads;
- :mod:`services.registry` — ``RegistryGateway`` (Tamin's back end) and its SQL implementation;
- :mod:`services.identity` — chat users, own contact, national-ID verification with lockout;
- :mod:`services.chat` — the per-update arrival look-up (chat user and handoff state);
- :mod:`services.eligibility` — treatment eligibility with tracking codes, and
  :mod:`services.eligibility_store` where inquiries are stored (group commit);
- :mod:`services.contributions` — last record, total record, per-year summary;
- :mod:`services.dependants` — the rules for adding dependants, applications, the list;
- :mod:`services.tickets` — 1420 tickets with due dates in working days;
- :mod:`services.voluntary` — voluntary-insurance rules, estimates and deadlines;
- :mod:`services.pension` — pension payslips;
- :mod:`services.info` — channels, hours, whether the contact centre is open;
- :mod:`services.calendar` — working days and Iran's official holidays;
- :mod:`services.handoff` — escalation to a person, the agent desk, the console's views,
  canned replies and labels, the ticket desk;
- :mod:`services.agents` — console accounts, sign-in throttling, sessions, who is online;
- :mod:`services.outbox` — messages to users that survive restarts, and their sender's store;
- :mod:`services.intent_log` — what the bot understood of each message (dashboard, transcripts);
- :mod:`services.dashboard` — the supervisors' figures.

The demo data lives outside, in the top-level ``demo`` package; Jalali arithmetic in
:mod:`persian.jalali`.
"""
