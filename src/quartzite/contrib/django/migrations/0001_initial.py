"""The tables of the app: jobs, their run records, scheduler check-ins and the quarantine."""

import django.db.models.deletion
from django.db import migrations, models

__all__ = ("Migration",)


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="DjangoJob",
            fields=[
                (
                    "id",
                    models.CharField(
                        help_text="Unique id for this job.",
                        max_length=255,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("next_run_time", models.DateTimeField(blank=True, db_index=True, null=True)),
                ("job_state", models.BinaryField()),
            ],
            options={
                "ordering": ("next_run_time",),
            },
        ),
        migrations.CreateModel(
            name="DjangoJobQuarantine",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("job_id", models.CharField(db_index=True, max_length=255)),
                ("next_run_time", models.DateTimeField(blank=True, null=True)),
                ("job_state", models.BinaryField()),
                ("error", models.TextField()),
                ("quarantined_at", models.DateTimeField()),
            ],
            options={
                "verbose_name": "quarantined job",
                "ordering": ("id",),
            },
        ),
        migrations.CreateModel(
            name="DjangoSchedulerCheckin",
            fields=[
                (
                    "scheduler_id",
                    models.CharField(max_length=255, primary_key=True, serialize=False),
                ),
                ("host", models.CharField(max_length=255)),
                ("pid", models.IntegerField()),
                ("last_checkin", models.DateTimeField()),
                ("expires_at", models.DateTimeField(db_index=True)),
            ],
            options={
                "verbose_name": "scheduler check-in",
            },
        ),
        migrations.CreateModel(
            name="DjangoJobExecution",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        help_text="Unique id for this job execution.",
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("Started execution", "Started execution"),
                            ("Executed", "Executed"),
                            ("Missed!", "Missed!"),
                            ("Max instances!", "Max instances!"),
                            ("Error!", "Error!"),
                            ("Pending", "Pending"),
                            ("Interrupted!", "Interrupted!"),
                            ("Timeout!", "Timeout!"),
                        ],
                        max_length=50,
                    ),
                ),
                (
                    "run_time",
                    models.DateTimeField(
                        db_index=True, help_text="Date and time at which this job was due."
                    ),
                ),
                (
                    "duration",
                    models.DecimalField(decimal_places=2, default=None, max_digits=15, null=True),
                ),
                (
                    "finished",
                    models.DecimalField(decimal_places=2, default=None, max_digits=15, null=True),
                ),
                ("exception", models.CharField(max_length=1000, null=True)),
                ("traceback", models.TextField(null=True)),
                ("scheduler_id", models.CharField(blank=True, max_length=255, null=True)),
                ("attempt", models.PositiveIntegerField(default=1)),
                ("recovered", models.BooleanField(default=False)),
                ("manual", models.BooleanField(default=False)),
                ("started", models.DateTimeField(blank=True, null=True)),
                ("exception_type", models.CharField(blank=True, max_length=255, null=True)),
                ("return_value", models.BinaryField(blank=True, null=True)),
                (
                    "job",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        to="quartzite.djangojob",
                    ),
                ),
            ],
            options={
                "ordering": ("-run_time",),
                "constraints": [
                    models.UniqueConstraint(
                        fields=("job_id", "run_time"), name="quartzite_job_execution_unique"
                    )
                ],
            },
        ),
    ]
