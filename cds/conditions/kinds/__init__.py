"""Every kind of condition term, one module each; importing the package registers them all, in
the order of the reference table (rulesets/README.md): conditions, medications, the patient,
observations, other record entries, then what the rules themselves decide."""

# isort: skip_file
from . import condition, dated_condition, conditions_count  # noqa: F401  (each registers its kind)
from . import medication, orders_total, doses_per_day, medication_classes, medication_days  # noqa: F401
from . import service_order  # noqa: F401
from . import patient, course  # noqa: F401
from . import observation, observation_ratio  # noqa: F401
from . import procedure, immunization, pregnancy, record  # noqa: F401
from . import result, status  # noqa: F401
