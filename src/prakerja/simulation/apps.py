from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "prakerja.simulation"
    label = "simulation"
    verbose_name = "Simulation"

    def ready(self) -> None:
        from prakerja.simulation import sim_time

        sim_time.connect_task_signals()
