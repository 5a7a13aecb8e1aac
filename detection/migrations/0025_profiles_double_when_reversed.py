"""Going back: baselines' profiles in the earlier, double-precision layout.

Profiles have been stored in single precision since commit aaf2941, without a migration (rows
of the earlier layout are read as they are). Code before it reads only the earlier layout and
stopped on every minute after a rollback, since the cold refit (every 15 minutes, from the
stack's start) rewrites young series' profiles within a minute of the upgrade (upgrade tester,
forty-third session). Reversing this migration (``migrate detection 0024``, or any earlier
target, with this release's code, before going back) rewrites them in the earlier layout,
which every release reads. Forwards there is nothing to do.
"""

import numpy as np
from django.db import migrations

BATCH = 500
# Restated, as a migration must not change with the code (detection.baseline_record).
SLOTS = 672
SINGLE, DOUBLE = np.dtype(">f4"), np.dtype(">f8")


def to_double(apps, schema_editor) -> None:
    SeriesBaseline = apps.get_model("detection", "SeriesBaseline")
    rows = SeriesBaseline.objects.filter(profile__isnull=False).only("id", "profile")
    for row in rows.iterator(chunk_size=BATCH):
        raw = bytes(row.profile)
        if len(raw) == SLOTS * SINGLE.itemsize:
            double = np.frombuffer(raw, SINGLE).astype(DOUBLE).tobytes()
            SeriesBaseline.objects.filter(id=row.id).update(profile=double)


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0024_outage_paused_minutes"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, to_double, elidable=True),
    ]
