from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "prakerja.simulation"
    label = "simulation"
    verbose_name = "Simulation"

    def ready(self) -> None:
        from prakerja.simulation import clock

        clock.connect_task_signals()
