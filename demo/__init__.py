"""Demo data, outside the business layer: the four personas and N synthetic people.

``tamin-bot demo-data [--people N]`` (:func:`demo.load.run_demo_data`, wired by ``app/cli.py``)
migrates the database, then loads:

- the personas of issue 2 exactly (national IDs, mobiles, names, dependants), true whenever the
  command runs (:mod:`demo.personas`);
- N synthetic people generated deterministically, for load tests (:mod:`demo.synthetic`);
- the console's two demo accounts (:data:`demo.load.DEMO_AGENTS`, for local use only).

:mod:`demo.rows` builds and bulk-inserts the registry's rows for both.
"""

from demo.load import (
    DEMO_AGENTS,
    DemoSummary,
    ensure_demo_agents,
    load_demo_data,
    render_summary,
    run_demo_data,
)
from demo.personas import (
    ALI_NID,
    FATEMEH_NID,
    HASAN_NID,
    MARYAM_NID,
    PERSONA_MOBILES,
    PERSONA_NIDS,
    PERSONA_NOTES,
    PERSONA_WORKSHOP_CODE,
    PERSONA_WORKSHOP_NAME,
    REZA_NID,
    SARA_NID,
    UNKNOWN_MOBILE,
    ZAHRA_NID,
    load_personas,
)
from demo.synthetic import DEFAULT_SEED, load_synthetic, synthetic_mobile, synthetic_national_id

__all__ = [
    "ALI_NID",
    "DEFAULT_SEED",
    "DEMO_AGENTS",
    "FATEMEH_NID",
    "HASAN_NID",
    "MARYAM_NID",
    "PERSONA_MOBILES",
    "PERSONA_NIDS",
    "PERSONA_NOTES",
    "PERSONA_WORKSHOP_CODE",
    "PERSONA_WORKSHOP_NAME",
    "REZA_NID",
    "SARA_NID",
    "UNKNOWN_MOBILE",
    "ZAHRA_NID",
    "DemoSummary",
    "ensure_demo_agents",
    "load_demo_data",
    "load_personas",
    "load_synthetic",
    "render_summary",
    "run_demo_data",
    "synthetic_mobile",
    "synthetic_national_id",
]
