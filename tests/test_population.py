"""The vectorised population: column layout, synthesis of a council, couples, and block capacity."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import data, population, rates, streams
from simulator.population import COLUMNS, NO_PARTNER, NOT_WAITING, Population

ESSEX, RUTLAND = "E10000012", "E06000017"


def test_columns_have_compact_dtypes():
    expected = {
        "alive": np.bool_, "age_m": np.uint16, "sex": np.uint8, "council": np.uint16, "partner": np.int32,
        "need": np.uint8, "setting": np.uint8, "funding": np.uint8, "package_hours": np.uint8, "reason": np.uint8,
        "savings": np.float32, "housing": np.float32, "other_carer": np.bool_, "months_in_state": np.uint16,
        "waiting_since": np.int16, "flags": np.uint8, "ticket": np.float32,
    }
    assert {k: dt for k, (dt, _) in COLUMNS.items()} == {k: np.dtype(v) for k, v in expected.items()}
    assert population.BYTES_PER_PERSON == sum(np.dtype(v).itemsize for v in expected.values())
    assert population.BYTES_PER_PERSON <= 64


def test_model_population_columns_and_bytes(essex_model):
    pop = essex_model.population
    n_rows = len(pop.cols["alive"])
    for name, (dt, _) in COLUMNS.items():
        assert pop.cols[name].dtype == dt, name
        assert pop.cols[name].shape == (n_rows,), name
    assert pop.nbytes == n_rows * population.BYTES_PER_PERSON
    assert pop.nbytes / n_rows <= 64
    assert essex_model.dataset().attrs["agents_bytes_per_person"] == population.BYTES_PER_PERSON


def test_age_m_holds_the_oldest_age():
    assert np.iinfo(np.uint16).max >= 110 * 12 + 11
    assert np.iinfo(np.int16).max >= 12 * 100  # waiting_since holds any step of a 100-year run


def test_synthesis_reproduces_adult_count(essex_scenario, essex_model):
    """Essex agents at the start = adults / scale, within the stochastic rounding of each (sex, age) cell.

    Each of the 2 x 93 adult cells is floor(x) + Bernoulli(frac(x)), so the total's variance is at
    most 186 / 4 (SD <= 6.8 agents); we allow 5 SD. The expectation itself is exact.
    """
    persons = data.council_table([ESSEX])[data.age_columns()].to_numpy(float)[0]
    expected = persons[18:].sum() / essex_scenario.run.scale
    assert 100_000 < expected < 130_000
    n = essex_model.population.n_alive  # initial placements do not change who is alive
    assert abs(n - expected) <= 5 * np.sqrt(2 * (rates.N_AGES - 18) / 4), (n, expected)


def test_synthesis_age_and_sex_structure(essex_scenario, essex_model):
    """Agents by sex and single age follow the council's ONS population (5 SD of rounding per band)."""
    v = essex_model.population.view(0)
    age = v["age_m"] // 12
    assert age.min() >= 18 and age.max() <= 110
    expected = population.adults_by_age_sex(data.council_table([ESSEX])[data.age_columns()].to_numpy(float)[0],
                                            essex_scenario.run.scale)
    for s in range(2):
        for lo, hi in [(18, 29), (30, 44), (45, 64), (65, 79), (80, 110)]:
            got = np.count_nonzero((v["sex"] == s) & (age >= lo) & (age <= hi))
            want = expected[s, lo:hi + 1].sum()
            assert abs(got - want) <= 5 * np.sqrt((hi - lo + 1) / 4) + 1, (s, lo, hi, got, want)
    assert np.all(v["council"] == 0)
    assert np.all(v["alive"])


def test_synthesised_need_mix_matches_target(essex_scenario, tables):
    """Drawn need levels at the start follow the target prevalence (before any council placement).

    For level 2+ in ages 65+ (about 22,000 agents) the count is a sum of Bernoullis with known
    probabilities; 5 SD of that sum is about 300 agents, i.e. about 1.3 percentage points.
    """
    rng = streams.stream(essex_scenario.run.seed, 0, ESSEX, "synthesis")
    persons = data.council_table([ESSEX])[data.age_columns()].to_numpy(float)[0]
    cols = population.synthesise_council(rng, essex_scenario, tables, persons, 0)
    age = cols["age_m"] // 12
    old = age >= 65
    p = tables.prevalence[cols["sex"][old], age[old], 2:].sum(-1)
    got = np.count_nonzero(cols["need"][old] >= 2)
    assert abs(got - p.sum()) <= 5 * np.sqrt((p * (1 - p)).sum())


def test_partners_symmetric_same_council_opposite_sex(essex_model):
    pop = essex_model.population
    partner = pop.cols["partner"]
    rows = np.flatnonzero(pop.cols["alive"] & (partner >= 0))
    assert len(rows) > 0.4 * pop.n_alive  # a good share of adults live as couples
    np.testing.assert_array_equal(partner[partner[rows]], rows)
    np.testing.assert_array_equal(pop.cols["council"][partner[rows]], pop.cols["council"][rows])
    assert np.all(pop.cols["sex"][partner[rows]] != pop.cols["sex"][rows])
    assert np.all(pop.cols["alive"][partner[rows]])
    # men are older on average by about the parameter's gap
    men = rows[pop.cols["sex"][rows] == 0]
    gap = (pop.cols["age_m"][men].astype(float) - pop.cols["age_m"][partner[men]]).mean() / 12
    assert 0.5 < gap < 4.0


def test_partners_within_council_blocks_when_several_councils(defaults):
    import simulator

    sc = defaults.with_updates({"run.years": 1, "run.scale": 10, "geography.councils": [RUTLAND, "E06000053"]})
    model = simulator.CareModel(sc)
    pop = model.population
    for c, block in enumerate(pop.blocks):
        v = pop.view(c)
        linked = v["partner"][v["partner"] >= 0]
        assert np.all((linked >= block.start) & (linked < block.start + block.used)), c
        assert np.all(v["council"] == c)
    assert pop.blocks[0].stop <= pop.blocks[1].start


def test_link_partners_pairs_opposite_sexes(defaults):
    rng = np.random.default_rng(11)
    n = 5_000
    age_m = rng.integers(18 * 12, 95 * 12, n)
    sex = rng.integers(0, 2, n)
    partner = population.link_partners(rng, defaults, age_m, sex)
    has = np.flatnonzero(partner >= 0)
    np.testing.assert_array_equal(partner[partner[has]], has)
    assert np.all(sex[partner[has]] != sex[has])
    assert np.count_nonzero(partner[sex == 0] >= 0) == np.count_nonzero(partner[sex == 1] >= 0)


def test_append_respects_block_capacity():
    pop = Population.allocate([3, 2])
    assert [(b.start, b.stop, b.used) for b in pop.blocks] == [(0, 3, 0), (3, 5, 0)]
    rows = pop.append(0, {"alive": np.ones(2, bool), "age_m": np.array([300, 400], np.uint16)})
    assert rows == slice(0, 2)
    rows = pop.append(0, {"alive": np.ones(1, bool), "age_m": np.array([500], np.uint16)})
    assert rows == slice(2, 3)
    with pytest.raises(RuntimeError, match="full"):
        pop.append(0, {"alive": np.ones(1, bool)})
    assert pop.blocks[0].used == 3
    assert not pop.cols["alive"][3:].any()  # the neighbouring block is untouched
    with pytest.raises(RuntimeError):
        pop.append(1, {"alive": np.ones(3, bool)})  # too many at once: nothing written
    assert pop.blocks[1].used == 0 and not pop.cols["alive"][3:].any()
    rows = pop.append(1, {"alive": np.ones(2, bool)})
    assert rows == slice(3, 5) and pop.n_alive == 5
    np.testing.assert_array_equal(pop.view(0)["age_m"], [300, 400, 500])
    # columns not given take their "empty" values
    assert np.all(pop.cols["partner"] == NO_PARTNER)
    assert np.all(pop.cols["waiting_since"] == NOT_WAITING)
    assert np.all(pop.cols["need"] == 0)


def test_columns_start_on_different_cache_lines_of_a_page_and_keep_them_through_a_pickle():
    """Each column's row 0 sits on its own cache line of a page (no 4K aliasing between columns, see
    ``population.staggered_zeros``); an unpickled population (a checkpoint) is laid out
    the same way, with the same contents."""
    import pickle

    n = 5_000_000  # large enough that every column is mapped whole pages, as England's are
    pop = Population.allocate([n])
    pop.cols["age_m"][:] = np.arange(n) % 1_000
    pop.blocks[0].used = n

    def offsets(p):
        return [col.ctypes.data % 4096 for col in p.cols.values()]

    for p in (pop, pickle.loads(pickle.dumps(pop, protocol=pickle.HIGHEST_PROTOCOL))):
        assert offsets(p) == [k * 448 % 4096 for k in range(len(COLUMNS))]  # all different cache lines
        assert all(len(col) == n and col.dtype == COLUMNS[name][0] for name, col in p.cols.items())
        assert np.all(p.cols["partner"] == NO_PARTNER) and p.cols["age_m"][1_234] == 234


def test_view_is_a_view():
    pop = Population.allocate([4])
    pop.append(0, {"alive": np.ones(4, bool)})
    v = pop.view(0)
    v["need"][:] = 3
    v["alive"][1] = False
    assert np.all(pop.cols["need"] == 3)
    assert pop.n_alive == 3


def test_model_blocks_have_room_for_the_runs_entrants(rutland_scenario):
    """Over the full default horizon (20 years) the block never fills (append would raise) and every
    entrant and migrant gets a row: rows used = start agents + all entrants and migrants."""
    import simulator

    model = simulator.CareModel(rutland_scenario.with_updates({"run.years": 20}))
    start_rows = model.population.blocks[0].used
    model.run()
    block = model.population.blocks[0]
    entrants = int(model.recorder.data["entrants"].sum())
    migrants = int(model.recorder.data["migrants"].sum())
    assert entrants > 0 and migrants > 0
    assert block.used == start_rows + entrants + migrants <= block.stop - block.start


def test_stochastic_round_expectation():
    rng = np.random.default_rng(0)
    x = np.full(100_000, 2.3)
    r = population.stochastic_round(rng, x)
    assert set(np.unique(r)) == {2, 3}
    # mean of 1e5 Bernoulli(0.3): SE = sqrt(0.21 / 1e5) = 0.00145; 5 SE
    assert abs(r.mean() - 2.3) <= 5 * np.sqrt(0.21 / 1e5)


def test_household_band_edges():
    np.testing.assert_array_equal(population.household_band(np.array([18, 24, 25, 34, 35, 64, 65, 84, 85, 110])),
                                  [0, 0, 1, 1, 2, 4, 5, 6, 7, 7])
