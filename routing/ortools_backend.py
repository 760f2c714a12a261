"""OR-Tools routing backend (guided local search): the fallback, and the model to extend with side constraints.

Rules followed (measured): every visit is optional through `AddDisjunction` with a large penalty for required
stops, so the search always has a solution and impossible stops come back unserved; transits are registered as
matrices (`RegisterTransitMatrix`, 7.4x faster than Python callbacks); the global span cost coefficient stays 0
when minimising distance. Routing nodes: the distinct depot nodes first, then one node per stop (two stops at the
same place are two nodes). Several windows per stop: the cumul range spans them and the gaps are removed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.backend import Outcome, Task, big_penalty, matrices, penalty_of
from routing.model import Stop, Vehicle


def _sub(matrix: npt.NDArray[np.int64], nodes: Sequence[int]) -> list[list[int]]:
    index = np.asarray(nodes)
    return matrix[np.ix_(index, index)].tolist()


class _Model:
    """The routing model of one task; `sites[k]` is the matrix node of routing node k."""

    def __init__(self, task: Task) -> None:
        self.task = task
        problem = task.problem
        self.vehicles: list[Vehicle] = [problem.vehicles[v] for v in task.vehicles]
        self.stops: list[Stop] = [problem.stops[i] for i in task.stops]
        depots = sorted({v.start_node for v in self.vehicles} | {v.end_node for v in self.vehicles})
        self.depot_site = {node: k for k, node in enumerate(depots)}
        self.first_stop = len(depots)
        self.sites = depots + [s.node for s in self.stops]
        self.manager = pywrapcp.RoutingIndexManager(
            len(self.sites), len(self.vehicles),
            [self.depot_site[v.start_node] for v in self.vehicles],
            [self.depot_site[v.end_node] for v in self.vehicles],
        )
        self.routing = pywrapcp.RoutingModel(self.manager)
        self.distance, self.duration = matrices(problem)

    def build(self) -> None:
        travel = _sub(self.duration, self.sites)
        cost = travel if self.task.problem.objective == "duration" else _sub(self.distance, self.sites)
        self.routing.SetArcCostEvaluatorOfAllVehicles(self.routing.RegisterTransitMatrix(cost))
        self._time_dimension(travel)
        self._capacity_dimensions()
        for vehicle_index, vehicle in enumerate(self.vehicles):
            self.routing.SetFixedCostOfVehicle(vehicle.fixed_cost, vehicle_index)
        big = big_penalty(self.task.problem, self.distance, self.duration)
        for k, stop in enumerate(self.stops):
            index = self.manager.NodeToIndex(self.first_stop + k)
            self.routing.AddDisjunction([index], penalty_of(stop, self.task, big))

    def _time_dimension(self, travel: list[list[int]]) -> None:
        """Cumul = start of service; transit = service at the origin + travel; waiting is slack."""
        service = [0] * self.first_stop + [s.service for s in self.stops]
        transit = [[service[i] + t for t in row] for i, row in enumerate(travel)]
        horizon = max(v.shift[1] for v in self.vehicles)
        callback = self.routing.RegisterTransitMatrix(transit)
        self.routing.AddDimension(callback, horizon, horizon, False, "time")
        time = self.routing.GetDimensionOrDie("time")
        for k, stop in enumerate(self.stops):
            if stop.windows:
                cumul = time.CumulVar(self.manager.NodeToIndex(self.first_stop + k))
                cumul.SetRange(stop.windows[0][0], stop.windows[-1][1])
                for (_, close), (open_, _) in zip(stop.windows, stop.windows[1:], strict=False):
                    cumul.RemoveInterval(close + 1, open_ - 1)
        for vehicle_index, vehicle in enumerate(self.vehicles):
            time.CumulVar(self.routing.Start(vehicle_index)).SetRange(vehicle.shift[0], vehicle.shift[1])
            time.CumulVar(self.routing.End(vehicle_index)).SetRange(vehicle.shift[0], vehicle.shift[1])
            self.routing.AddVariableMinimizedByFinalizer(time.CumulVar(self.routing.End(vehicle_index)))
            self.routing.AddVariableMaximizedByFinalizer(time.CumulVar(self.routing.Start(vehicle_index)))
        if self.task.problem.objective == "duration":
            time.SetSpanCostCoefficientForAllVehicles(1)

    def _capacity_dimensions(self) -> None:
        dims = len(self.vehicles[0].capacity)
        for k in range(dims):
            demand = [0] * self.first_stop + [s.demand[k] if s.demand else 0 for s in self.stops]
            callback = self.routing.RegisterUnaryTransitVector(demand)
            capacity = [v.capacity[k] for v in self.vehicles]
            self.routing.AddDimensionWithVehicleCapacity(callback, 0, capacity, True, f"load{k}")
        if any(v.max_stops is not None for v in self.vehicles):
            ones = self.routing.RegisterUnaryTransitVector([0] * self.first_stop + [1] * len(self.stops))
            limits = [len(self.stops) if v.max_stops is None else v.max_stops for v in self.vehicles]
            self.routing.AddDimensionWithVehicleCapacity(ones, 0, limits, True, "stops")

    def parameters(self) -> pywrapcp.DefaultRoutingSearchParameters:
        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
        params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        params.time_limit.FromMilliseconds(max(1, int(self.task.remaining * 1000)))
        return params

    def plan(self, assignment: pywrapcp.Assignment | None) -> list[list[int]]:
        plan: list[list[int]] = [[] for _ in self.task.problem.vehicles]
        if assignment is None:
            return plan
        for vehicle_index, v in enumerate(self.task.vehicles):
            index = assignment.Value(self.routing.NextVar(self.routing.Start(vehicle_index)))
            while not self.routing.IsEnd(index):
                plan[v].append(self.task.stops[self.manager.IndexToNode(index) - self.first_stop])
                index = assignment.Value(self.routing.NextVar(index))
        return plan


def run(task: Task) -> Outcome:
    """Solve the task with OR-Tools routing; stops left unperformed come back absent from the plan."""
    model = _Model(task)
    model.build()
    solutions = [0]

    def on_solution() -> None:
        solutions[0] += 1
        task.report(f"ortools: solution {solutions[0]}, objective {model.routing.CostVar().Max()}")

    if task.progress is not None:
        model.routing.AddAtSolutionCallback(on_solution)
    assignment = model.routing.SolveWithParameters(model.parameters())
    status = model.routing.status()
    stats: dict[str, object] = {"status": int(status), "solutions": solutions[0]}
    return Outcome(plan=model.plan(assignment), stats=stats)
