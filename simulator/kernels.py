"""Compiled loops over a council's rows for the hot parts of the monthly step (Numba, ``jit.py``).

Each kernel does what the NumPy functions in ``processes`` do in several whole-column passes with temporaries,
with the same arithmetic in the same order, so results are bit-identical to those functions
(``tests/test_kernels.py`` holds them to it). Random numbers are never drawn here: callers pass 32-bit draws from
the process's own ``numpy.random.Generator`` (``streams.draw_bits``), each read as the uniform ``b x 2**-32`` and
compared with a tabulated integer threshold that gives the same outcome as the float test.

Passes over every row are written without branches or table lookups where they can be, so that the compiler
makes them SIMD loops; they mark the few rows with something to do (a draw below its age group's bound, need 2+,
a service), which a second loop over those rows handles exactly.
"""

from __future__ import annotations

import numpy as np

from .population import (ASSESSED, COMMUNITY, COUNCIL_FUNDED, EARLY_INTERVENTION, HOME_CARE, HOSPITAL, KNOWN,
                         LEARNING_DISABILITY, LTS_THIS_YEAR, NHS_FUNDED, NURSING, REABLED, REABLEMENT, RESIDENTIAL,
                         SELF_FUNDED, TELECARE, UNMET)
from .rates import N_AGES
from .jit import jit
from .streams import UNIT

MAX_AGE_MONTHS = 110 * 12 + 11
TWO_32 = 1.0 / UNIT  # a 32-bit draw b is the uniform b x UNIT on [0, 1); a uniform u is the draw u x TWO_32
_U8_KNOWN, _U8_ASSESSED, _U8_UNMET = int(KNOWN), int(ASSESSED), int(UNMET)
_U8_TELECARE, _U8_EI, _U8_LTS = int(TELECARE), int(EARLY_INTERVENTION), int(LTS_THIS_YEAR)
_U8_REABLED = int(REABLED)


def band_table(edges) -> np.ndarray:
    """Band of every age in months up to ``MAX_AGE_MONTHS``: how many of the ascending ``edges`` (months) it has
    reached (``np.searchsorted(edges, age_m, side="right")``), uint8. Looked up by age, a band costs one load and
    no branch (the bands of consecutive rows are in random order, so a loop over the edges mispredicts)."""
    return np.searchsorted(edges, np.arange(MAX_AGE_MONTHS + 1), side="right").astype(np.uint8)


@jit
def threshold(p):
    """The 32-bit draws ``b`` for which the uniform ``b x 2**-32`` is below the probability ``p``: exactly those
    below this integer, ``ceil(p x 2**32)`` (int64, up to 2**32; the scaling by a power of two is exact). Kernels
    compare the draws with tabulated thresholds: an integer comparison, the same outcome as the float one."""
    return np.int64(np.ceil(min(max(p, 0.0), 1.0) * TWO_32))


@jit
def death_thresholds(death_p):
    """``threshold`` of each monthly death probability, by (sex, age, need), flattened (``person_index``)."""
    flat = death_p.ravel()
    out = np.empty(flat.shape[0], np.int64)
    for k in range(flat.shape[0]):
        out[k] = threshold(flat[k])
    return out


@jit
def _stays(b, p, rate):
    """Whether a survivor with death draw ``b`` (at death chance ``p``) does not move away at ``rate``: the draw
    rescaled to the 32 bits of ``(u - p) / (1 - p)``, given survival a fresh uniform, is not below ``rate``."""
    return not np.uint32((b * UNIT - p) / (1.0 - p) * TWO_32) * UNIT < rate


@jit
def churn_thresholds(death_p, death_t, rate):
    """By (sex, age, need), flattened like ``death_thresholds``: the first death draw from which a survivor aged
    18-64 stays rather than moving away at ``rate`` a month (``_stays``); a survivor whose draw lies between the
    death threshold and this one moves. 65 and over, the two are equal (no one moves). Each is found from the
    nearest whole draw by steps of one on the float test (it is monotone in the draw), so the integer comparison
    has the same outcome as the float one."""
    flat = death_p.ravel()
    out = death_t.copy()
    top = np.int64(1) << 32
    for s in range(2):
        for a in range(min(65, N_AGES)):
            for level in range(5):
                k = (s * N_AGES + a) * 5 + level
                p, lo = flat[k], death_t[k]
                if lo >= top or rate <= 0.0:
                    continue
                g = min(max(np.int64(np.ceil((p + rate * (1.0 - p)) * TWO_32)), lo), top)
                while g > lo and _stays(g - 1, p, rate):
                    g -= 1
                while g < top and not _stays(g, p, rate):
                    g += 1
                out[k] = g
    return out


@jit
def person_index(sex, age_m, need):
    """Position of (sex, age in years from ``age_m`` months, need) in the flattened (2, N_AGES, 5) tables."""
    return (np.intp(sex) * N_AGES + min(np.intp(age_m) // 12, N_AGES - 1)) * 5 + np.intp(need)


#: the age groups of the draws' first test (18-64, 65-74, 75-84, 85+), months: the NHS tables' age bands
GROUP_EDGES = (65 * 12, 75 * 12, 85 * 12)


def group_bounds(table: np.ndarray) -> tuple[int, int, int, int]:
    """The largest of a table's draw thresholds in each age group, the table flattened from (2 sexes, N_AGES ages,
    entries by age): no draw at or above its group's bound can pass a threshold of the group, so the kernels'
    first test, against the bound, keeps everyone the exact test could take."""
    by_age = table.reshape(2, N_AGES, -1).max(axis=(0, 2))
    edges = [0, *(e // 12 for e in GROUP_EDGES), N_AGES]
    return tuple(int(by_age[lo:hi].max(initial=0)) for lo, hi in zip(edges[:-1], edges[1:]))


@jit
def _bound(age_m, bounds):
    """The bound of the age group of ``age_m`` (``group_bounds``), branch-free."""
    b0, b1, b2, b3 = bounds
    e1, e2, e3 = GROUP_EDGES
    return (b0 + np.int64(age_m >= e1) * (b1 - b0) + np.int64(age_m >= e2) * (b2 - b1)
            + np.int64(age_m >= e3) * (b3 - b2))


@jit
def marked(mask, out):
    """Rows marked in ``mask`` (bools) into ``out``, in row order; returns how many. Eight rows are tested at
    once as one 64-bit word, so a mostly empty mask costs little (for masks of one row in ten or more, NumPy's
    ``flatnonzero`` is as fast)."""
    n = mask.shape[0]
    whole = n - n % 8
    words = mask[:whole].view(np.uint64)
    k = 0
    for w in range(words.shape[0]):
        if words[w] != 0:
            for i in range(w * 8, w * 8 + 8):
                if mask[i]:
                    out[k] = i
                    k += 1
    for i in range(whole, n):
        if mask[i]:
            out[k] = i
            k += 1
    return k


def rows_of(mask: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The rows marked in ``mask``, in row order (``marked``): a view of ``out`` (room for a row number a person,
    made if not given), valid until ``out`` is used again."""
    out = np.empty(len(mask), np.int64) if out is None else out
    return out[:marked(mask, out)]


@jit
def age_and_die(age_m, months_in_state, alive, bits, death_t, move_t, bounds, sex, need, setting, died, candidates,
                rows):
    """Ageing (one month, capped), a month more in the setting (saturating), then deaths with probability
    ``death_p[sex, age, need]``: dying if the uniform ``bits x 2**-32`` is below it, that is if the draw is below
    ``death_t`` (``death_thresholds``). ``died`` is set and ``alive`` cleared for them. Survivors at home whose draw
    is below ``move_t`` (``churn_thresholds``) would move away if they have no partner once the month's widows are
    known: their rows go into ``candidates``, in row order. Returns the deaths (their rows are the first of
    ``rows``) and how many candidates.

    A branch-free (SIMD) pass ages everyone and marks in ``died`` the few whose draw is below their age group's
    bound on ``move_t`` (``bounds``, from ``group_bounds``); the exact test runs on those alone (``rows``: room
    for a row number a person)."""
    for i in range(age_m.shape[0]):
        a = alive[i]
        age = age_m[i] + np.uint16(a & (age_m[i] < MAX_AGE_MONTHS))
        age_m[i] = age
        t = months_in_state[i]
        months_in_state[i] = t + np.uint16(a & (t < 65535))
        died[i] = a & (np.int64(bits[i]) < _bound(age, bounds))
    deaths = n = 0
    for j in range(marked(died, rows)):
        i = rows[j]
        k = person_index(sex[i], age_m[i], need[i])
        b = np.int64(bits[i])
        if b < death_t[k]:
            alive[i] = False
            rows[deaths] = i  # the dead, in row order (never past the row being read)
            deaths += 1
            continue
        died[i] = False
        if b < move_t[k] and (setting[i] == COMMUNITY or setting[i] == HOME_CARE):
            candidates[n] = i
            n += 1
    return deaths, n


@jit
def need_thresholds(up, down, decline_rr, unmet_norm, ei_rr):
    """The month's need moves as two draw thresholds by (sex, age, level, unmet, early intervention, learning
    disability), flattened with ``need_index``: a draw below the first moves the level up, one between them down
    (``processes.needs.transition``). The rise is scaled by the unmet-need multiplier (``decline_rr`` over its
    base-year mean ``1 + (rr - 1) x unmet_norm``, need 2+) and by ``ei_rr`` under early intervention, and capped
    so the two moves stay within one; a learning disability does not recover. The probabilities are formed
    with the same arithmetic in the same order as the reference, so each outcome is the same."""
    norm = 1.0 + (decline_rr - 1.0) * unmet_norm
    unmet_mult, met_mult = decline_rr / norm, 1.0 / norm  # the two quotients, once (the same values as each row's)
    t_up = np.empty(2 * N_AGES * 40, np.int64)  # up has N_AGES ages (rates.RateTables)
    t_move = np.empty(2 * N_AGES * 40, np.int64)
    for s in range(2):
        for a in range(N_AGES):
            for level in range(5):
                for code in range(8):  # bit 2: unmet need, bit 1: early intervention, bit 0: learning disability
                    p_down = 0.0 if (code & 1) or level == 0 else down[level - 1]
                    m = ((unmet_mult if code & 4 else met_mult) if level >= 2 else 1.0) * (ei_rr if code & 2 else 1.0)
                    p_up = min((up[s, a, level] if level < 4 else 0.0) * m, 1.0 - p_down)
                    k = need_index(s, a, level, code)
                    t_up[k] = threshold(p_up)
                    t_move[k] = threshold(p_up + p_down)
    return t_up, t_move


@jit
def need_index(sex, age, level, code):
    """Position in ``need_thresholds``' tables of (sex, age in years, level, code)."""
    return ((sex * N_AGES + age) * 5 + level) * 8 + code


@jit
def need_transitions(bits, need, sex, age_m, alive, reason, flags, t_up, t_move, bounds, mask, rows):
    """Need levels move one step up or down by the month's thresholds (``need_thresholds``): up if the draw is below
    the person's first threshold, down if between the two. ``bits``: one 32-bit draw a person. A branch-free
    (SIMD) pass marks in ``mask`` the few whose draw is below the bound for their age group (``bounds``: four for
    need 0, four for need 1+; ``need_bounds``); the exact test runs on those alone (``rows``: room for a row
    number a person)."""
    without, with_ = bounds[:4], bounds[4:]
    for i in range(need.shape[0]):
        age = age_m[i]
        bound = _bound(age, without) if need[i] == 0 else _bound(age, with_)
        mask[i] = alive[i] & (np.int64(bits[i]) < bound)
    for j in range(marked(mask, rows)):
        i = rows[j]
        fl = np.intp(flags[i])
        code = ((fl & _U8_UNMET) >> 2) | ((fl & _U8_EI) >> 1) | np.intp(reason[i] == LEARNING_DISABILITY)
        level = np.intp(need[i])
        k = need_index(np.intp(sex[i]), min(np.intp(age_m[i]) // 12, N_AGES - 1), level, code)
        b = np.int64(bits[i])
        if b < t_move[k]:
            need[i] = level + 1 if b < t_up[k] else level - 1


def need_bounds(t_move: np.ndarray) -> tuple:
    """Bounds by age group on ``need_thresholds``' move thresholds for need 0, then need 1+ (``group_bounds``)."""
    table = t_move.reshape(2, N_AGES, 5, 8)
    return group_bounds(table[:, :, :1]) + group_bounds(table[:, :, 1:])


@jit
def admission_thresholds(admission_rr, unmet_norm, telecare_rr, admission_table):
    """Emergency admissions as draw thresholds by (age band, need, unmet, telecare), flattened: a person at home is
    admitted if their draw is below theirs, exactly when the uniform ``u`` gives ``u / risk < P`` (``P`` from
    ``admission_table[age band, need]``, ``risk`` the unmet-need multiplier over its base-year mean, need 2+,
    times ``telecare_rr`` with telecare and some need), each threshold found by bisection on that float test."""
    norm = 1.0 + (admission_rr - 1.0) * unmet_norm
    unmet_mult, met_mult = admission_rr / norm, 1.0 / norm
    bands = admission_table.shape[0]
    out = np.empty(bands * 20, np.int64)
    for band in range(bands):
        for level in range(5):
            for code in range(4):  # bit 1: unmet need, bit 0: telecare
                risk = (unmet_mult if code & 2 else met_mult) if level >= 2 else 1.0
                risk = risk * (telecare_rr if (code & 1) and level >= 1 else 1.0)
                a = admission_table[band, level]
                lo, hi = 0, np.int64(1) << 32  # the first draw not admitted lies in [lo, hi]
                while lo < hi:
                    mid = (lo + hi) // 2
                    if mid * UNIT / risk < a:
                        lo = mid + 1
                    else:
                        hi = mid
                out[(band * 5 + level) * 4 + code] = lo
    return out


@jit
def emergency_admissions(bits, need, sex, age_m, alive, flags, setting, funding, package_hours, months_in_state,
                         waiting_since, admission_rr, unmet_norm, telecare_rr, admission_table, bands, rise, t,
                         thresholds, mask, rows):
    """Emergency admissions of people at home (``NHSBody.admit``): probability ``admission_table[age band,
    need]`` (the band from ``bands``, by age in months) times the unmet-need multiplier and, with telecare and
    some need, ``telecare_rr``, admitted if the draw is below ``thresholds`` (``admission_thresholds`` of the same
    arguments); need may rise in the stay (``rise[sex, age, need]``); package suspended, queued first. ``bits``:
    one 32-bit draw a person, the uniform ``u = bits x 2**-32``; given admission, ``u / min(P x risk, 1)`` is a
    fresh uniform, which decides the rise. Returns the number admitted.

    A branch-free (SIMD) pass marks in ``mask`` the people at home whose draw is below the largest threshold of
    their age band; the exact test runs on those alone (``rows``: room for a row number a person)."""
    bounds = group_bounds_of_bands(thresholds)
    for i in range(need.shape[0]):
        s = setting[i]
        mask[i] = alive[i] & ((s == COMMUNITY) | (s == HOME_CARE)) & (np.int64(bits[i]) < _bound(age_m[i], bounds))
    norm = 1.0 + (admission_rr - 1.0) * unmet_norm
    unmet_mult, met_mult = admission_rr / norm, 1.0 / norm
    admitted = 0
    for j in range(marked(mask, rows)):
        i = rows[j]
        level = np.intp(need[i])
        fl = flags[i]
        band = bands[age_m[i]]
        code = (np.intp((fl & _U8_UNMET) != 0) << 1) | np.intp((fl & _U8_TELECARE) != 0)
        if np.int64(bits[i]) >= thresholds[(np.intp(band) * 5 + level) * 4 + code]:
            continue
        risk = (unmet_mult if (fl & _U8_UNMET) != 0 else met_mult) if level >= 2 else 1.0
        risk = risk * (telecare_rr if ((fl & _U8_TELECARE) != 0 and level >= 1) else 1.0)
        a = admission_table[band, level]
        u = bits[i] * UNIT
        if u / min(a * risk, 1.0) < rise[sex[i], min(age_m[i] // 12, rise.shape[1] - 1), level]:
            need[i] = min(level + 1, 4)
        setting[i] = HOSPITAL
        funding[i] = 0
        package_hours[i] = 0
        months_in_state[i] = 0
        waiting_since[i] = t
        flags[i] = (fl | _U8_KNOWN) & ~_U8_ASSESSED
        admitted += 1
    return admitted


@jit
def group_bounds_of_bands(thresholds):
    """The largest admission threshold of each age band (``admission_thresholds`` by band, need and code): the
    bands are the age groups of ``GROUP_EDGES``."""
    per_band = thresholds.shape[0] // 4
    return (thresholds[:per_band].max(), thresholds[per_band:2 * per_band].max(),
            thresholds[2 * per_band:3 * per_band].max(), thresholds[3 * per_band:].max())


@jit
def _unmet_gap(s, need_hours, informal, package_hours, delivery_ratio):
    """Hours a week of need left after unpaid care and formal care (``processes.households.unmet_hours``) for
    someone with need 2+ at home in setting ``s``: reablement meets the need while it lasts."""
    formal = np.float64(need_hours) if s == REABLEMENT else package_hours * delivery_ratio
    return max((need_hours - informal) - formal, 0.0)


@jit
def able_to_care(alive, need, setting, partner_max_need, able):
    """Whether each person could care for a partner (``processes.households.partner_can_care``): alive, need at
    most ``partner_max_need``, not in a care home. Branch-free: the compiler makes it a SIMD loop."""
    for i in range(need.shape[0]):
        s = setting[i]
        able[i] = alive[i] & (need[i] <= partner_max_need) & (s != RESIDENTIAL) & (s != NURSING)


@jit
def _unpaid_row(i, can, setting, alive, need, other_carer, package_hours, flags, ph, oh, hours, cared):
    """One person's unpaid hours a week into ``hours`` (float32; none in a care home), whether they have need 2+ at
    home into ``cared``, their UNMET flag cleared (``mark_unmet`` sets it again); returns whether a partner and
    another carer care for them, and their package's hours if in home care."""
    s, a = setting[i], alive[i]
    at_home = a & (s != RESIDENTIAL) & (s != NURSING)
    oc = other_carer[i]
    h = np.float32(can) * ph + np.float32(oc) * oh
    hours[i] = h if at_home else np.float32(0.0)
    c = at_home & (s != HOSPITAL) & (need[i] >= 2)
    cared[i] = c
    flags[i] = flags[i] & np.uint8(255 - _U8_UNMET)
    return np.int64(can & c), np.int64(oc & c), np.int64(package_hours[i]) * np.int64(a & (s == HOME_CARE))


@jit
def unpaid_care(partner, offset, setting, alive, need, other_carer, package_hours, flags, able, partner_hours,
                other_hours, hours, cared):
    """Unpaid hours a week available to each person (``processes.households.informal_hours``): a partner who can
    care (``able``, from ``able_to_care``) and a carer outside the household give ``partner_hours`` and
    ``other_hours``; people in care homes get none. Also marks in ``cared`` the people with need 2+ at home (for
    ``mark_unmet``) and clears every UNMET flag. Returns the unpaid carers of people with need 2+ at home, partners
    and others (``unpaid_carers``), and the home care hours a week in all packages (``Council.commissioned_hours``,
    an exact integer).

    Couples sit side by side (``population.couples_side_by_side``; later arrivals come alone), so a partner is the
    row before or after: the loop reads its neighbours' ``able`` instead of following the link, and runs as SIMD.
    A partner anywhere else (not in a model's population) is looked up afterwards."""
    n = need.shape[0]
    ph, oh = np.float32(partner_hours), np.float32(other_hours)
    base = np.int32(offset)
    by_partner = by_other = commissioned = stray = 0
    for i in range(1, n - 1):
        j = partner[i] - (base + np.int32(i))  # the partner's row, less this one
        can = ((j == 1) & able[i + 1]) | ((j == -1) & able[i - 1])
        stray += np.int64((partner[i] >= 0) & (j != 1) & (j != -1))
        p, o, h = _unpaid_row(i, can, setting, alive, need, other_carer, package_hours, flags, ph, oh, hours, cared)
        by_partner += p
        by_other += o
        commissioned += h
    for e in range(min(n, 2)):  # the first and last rows: their partner looked up
        i = 0 if e == 0 else n - 1
        j = np.int64(partner[i]) - offset
        p, o, h = _unpaid_row(i, j >= 0 and able[j], setting, alive, need, other_carer, package_hours, flags, ph,
                              oh, hours, cared)
        by_partner += p
        by_other += o
        commissioned += h
    if stray:  # partners elsewhere than the next or previous row: only whether a partner cares changes
        for i in range(1, n - 1):
            j = np.int64(partner[i]) - offset
            if j >= 0 and abs(j - i) != 1 and able[j]:
                by_partner += _unpaid_row(i, True, setting, alive, need, other_carer, package_hours, flags, ph, oh,
                                          hours, cared)[0]
    return by_partner, by_other, commissioned


@jit
def mark_unmet(rows, setting, need, reason, package_hours, flags, hours, hours_table, delivery_ratio, alone):
    """Sets UNMET for the people of ``rows`` (need 2+ at home: ``unpaid_care``'s ``cared``) whose need unpaid care
    and formal care leave unmet (``processes.households.unmet_hours`` > 0). Rows of those in the community with no
    unpaid care go into ``alone``, in row order, for community support (``community_support``); returns how many."""
    n_alone = 0
    for j in range(rows.shape[0]):
        i = rows[j]
        s = setting[i]
        if _unmet_gap(s, hours_table[reason[i], need[i]], hours[i], package_hours[i], delivery_ratio) > 0:
            flags[i] |= _U8_UNMET
        if hours[i] == 0 and s == COMMUNITY:
            alone[n_alone] = i
            n_alone += 1
    return n_alone


@jit
def community_support(rows, each, hours, need, setting, package_hours, reason, flags, hours_table, delivery_ratio):
    """Community support: ``each`` hours a week (float32) to the people of ``rows`` (``households``' ``alone``:
    need 2+ at home in the community, no unpaid care; ``processes.households.community_support``), and their
    UNMET flag set again on the hours they now have."""
    for j in range(rows.shape[0]):
        i = rows[j]
        hours[i] = hours[i] + each
        gap = _unmet_gap(setting[i], hours_table[reason[i], need[i]], hours[i], package_hours[i], delivery_ratio)
        flags[i] = (flags[i] | _U8_UNMET) if gap > 0 else (flags[i] & ~_U8_UNMET)


@jit
def sum_package_hours(alive, setting, package_hours):
    """Home care hours a week in all packages (``Council.commissioned_hours``), as an exact integer."""
    total = 0
    for i in range(alive.shape[0]):
        if alive[i] and setting[i] == HOME_CARE:
            total += package_hours[i]
    return total


@jit
def rows_in_setting(alive, setting, code):
    """Rows of living people in care setting ``code``, in row order."""
    n = 0
    out = np.empty(alive.shape[0], np.int64)
    for i in range(alive.shape[0]):
        if alive[i] and setting[i] == code:
            out[n] = i
            n += 1
    return out[:n]


@jit
def tally_keys(alive, age_m, sex, need, setting, flags, waiting_since, died, band_edges, key, listed):
    """The tally's first pass, branch-free (the compiler makes it SIMD): each person's (age band, sex, need) as the
    key ``(band x 2 + sex) x 5 + need`` into ``key`` (uint8; ``band_edges``: a tuple of the bands' first ages in
    months), and in ``listed`` whether the tally must look at them further (``tally``). Most people need not:
    alive in the community with need 0-1, not queued, no long-term or early-intervention flag, and telecare only
    without need (not counted as a user). The dead are listed if they died this month or had long-term support
    this year."""
    rare = _U8_LTS | _U8_EI
    for i in range(alive.shape[0]):
        a, lv, fl = alive[i], need[i], flags[i]
        band = np.uint8(0)
        for edge in band_edges:
            band += np.uint8(age_m[i] >= edge)
        key[i] = (band * np.uint8(2) + sex[i]) * np.uint8(5) + lv
        plain = (a & (setting[i] == COMMUNITY) & (lv < 2) & ((fl & rare) == 0) & (waiting_since[i] < 0)
                 & (((fl & _U8_TELECARE) == 0) | (lv == 0)))
        listed[i] = (not plain) & (a | died[i] | ((fl & _U8_LTS) != 0))


@jit
def count_keys(key, alive, n_keys):
    """People alive by ``key``, int64: four interleaved copies of the counts, so that consecutive rows adding to
    the same count (as they often do) do not wait for each other's adds."""
    counts = np.zeros((4, n_keys), np.int64)
    for i in range(key.shape[0]):
        counts[i & 3, key[i]] += alive[i]
    return counts.sum(axis=0)


@jit
def tally(rows, alive, age_m, need, setting, funding, flags, reason, waiting_since, informal, package_hours,
          delivery_ratio, hours_table, died, bands, gap_out, informal_out):
    """The end-of-month counts beyond people by (age band, sex, need) (``count_keys``), from the people of ``rows``
    (``tally_keys``' listed; ``metrics.Recorder.record``): returns clients by (service, funder), people with unmet
    need and deaths by age band, long-term clients this year by (age group, reason), a vector of counts (see
    ``TALLY``) and ``k``, how many people with need 2+ at home it found. Their unmet hours a week go into
    ``gap_out[:k]`` and the unpaid hours they use into ``informal_out[:k]`` (float32), in row order, for NumPy to
    sum. ``bands``: the age band of each age in months (``band_table``)."""
    clients = np.zeros(12, np.int64)  # integer counts (exact), returned as float64
    unmet_by_band = np.zeros(6, np.int64)
    deaths = np.zeros(6, np.int64)
    lts = np.zeros(6, np.int64)
    counts = np.zeros(11, np.int64)
    k = 0
    for j in range(rows.shape[0]):
        i = rows[j]
        band = np.intp(bands[age_m[i]])
        s, lv, fl = setting[i], need[i], flags[i]
        in_home = s == RESIDENTIAL or s == NURSING
        if died[i]:
            deaths[band] += 1
            if in_home:
                counts[7] += 1
        if (fl & _U8_LTS) != 0:
            lts[(1 if band > 0 else 0) * 3 + reason[i]] += 1
        if not alive[i]:
            continue
        svc = -1
        if s == HOME_CARE:
            svc = 0
        elif s == REABLEMENT:
            svc = 1
        elif s == RESIDENTIAL:
            svc = 2
        elif s == NURSING:
            svc = 3
        f = funding[i]
        who = 0 if f == COUNCIL_FUNDED else (1 if f == SELF_FUNDED else (2 if f == NHS_FUNDED else -1))
        if svc >= 0 and who >= 0:
            clients[svc * 3 + who] += 1
        waiting = waiting_since[i] >= 0
        if waiting and s == COMMUNITY:
            counts[0] += 1
        if waiting and (fl & _U8_ASSESSED) == 0:
            counts[8] += 1
        if s == HOSPITAL:
            counts[4] += 1
        elif s == RESIDENTIAL:
            counts[5] += 1
        elif s == NURSING:
            counts[6] += 1
        if (fl & _U8_EI) != 0:
            counts[9] += 1
        if (fl & _U8_TELECARE) != 0 and lv >= 1 and not in_home:
            counts[10] += 1
        if s == HOME_CARE:
            counts[3] += package_hours[i]
        if not in_home and s != HOSPITAL and lv >= 2:
            needed = hours_table[reason[i], lv]
            gap = _unmet_gap(s, needed, informal[i], package_hours[i], delivery_ratio)
            gap_out[k] = gap
            if gap > 0:
                unmet_by_band[band] += 1
            informal_out[k] = min(informal[i], needed)
            k += 1
            if band > 0:
                if s == COMMUNITY and informal[i] > 0:
                    counts[1] += 1
                elif s == HOME_CARE:
                    counts[2] += 1
    return (clients.astype(np.float64), unmet_by_band.astype(np.float64), deaths.astype(np.float64),
            lts.astype(np.float64), counts.astype(np.float64), k)


#: what ``tally``'s vector of counts holds, by position
TALLY = ("waiting", "helped_unpaid_only", "helped_formal", "commissioned_hours", "in_hospital", "residential",
         "nursing", "resident_deaths", "awaiting_assessment", "early_intervention", "telecare")


# ---------------------------------------------------------------------------------------------- the actors' scans
# Councils, markets and NHS bodies act on the few people in services or queues; these find them in one pass.


@jit
def _queue_mask(alive, waiting_since, mask):
    """Living people in the council's queue (branch-free: SIMD)."""
    for i in range(alive.shape[0]):
        mask[i] = alive[i] & (waiting_since[i] >= 0)


def queue(alive, waiting_since, flags, mask=None, out=None):
    """Rows of living people in the council's queue, in row order: those whose current request is not yet
    assessed, and those whose request is. ``mask`` and ``out``: work arrays of a bool and a row number a person
    (made if not given)."""
    mask = np.empty(len(alive), np.bool_) if mask is None else mask
    _queue_mask(alive, waiting_since, mask)
    rows = rows_of(mask, out)
    assessed = (flags[rows] & ASSESSED) != 0
    return rows[~assessed], rows[assessed]


@jit
def telecare_users(alive, flags, need, setting):
    """People with some need who have telecare and live outside care homes."""
    n = 0
    for i in range(alive.shape[0]):
        s = setting[i]
        n += alive[i] & ((flags[i] & _U8_TELECARE) != 0) & (need[i] >= 1) & (s != RESIDENTIAL) & (s != NURSING)
    return n


@jit
def _request_mask(need, waiting_since, threshold, mask):
    """People the request scan must look at: queued, or with need at the threshold (branch-free: SIMD)."""
    for i in range(need.shape[0]):
        mask[i] = (waiting_since[i] >= 0) | (need[i] >= threshold)


@jit
def _request_scan(rows, alive, need, threshold, waiting_since, setting, flags, reason, hours_table, informal,
                  reablement_first, reablement_min_need):
    """``request_scan`` over the people it must look at (``rows``)."""
    n_left = n_new = 0
    left = np.empty(rows.shape[0], np.int64)
    new = np.empty(rows.shape[0], np.int64)
    for j in range(rows.shape[0]):
        i = rows[j]
        a, s, fl, lv = alive[i], setting[i], flags[i], need[i]
        eligible = a & (lv >= threshold)
        waiting = waiting_since[i] >= 0
        if waiting and not eligible:
            candidate = (a & (s == HOSPITAL) & (lv >= reablement_min_need) & reablement_first
                         & ((fl & _U8_REABLED) == 0) & (reason[i] != LEARNING_DISABILITY))
            if not candidate:  # leaves the queue, no longer known; home if in hospital
                left[n_left] = i
                n_left += 1
                waiting_since[i] = -1
                flags[i] &= ~_U8_KNOWN
                if s == HOSPITAL:
                    setting[i] = COMMUNITY
        elif eligible and s == COMMUNITY and not waiting:
            if (fl & _U8_KNOWN) == 0 or hours_table[reason[i], lv] > informal[i]:
                new[n_new] = i
                n_new += 1
    return left[:n_left], new[:n_new]


def request_scan(alive, need, threshold, waiting_since, setting, flags, reason, hours_table, informal,
                 reablement_first, reablement_min_need, mask=None, out=None):
    """The council's request scan (``Council._take_requests``): rows that leave the queue (no longer eligible,
    and not hospital patients who may still be offered reablement; they are taken out of it, no longer known, and
    home if in hospital), and rows of eligible people at home in the community, not queued, who are not known or
    whose unpaid care no longer covers their need. A branch-free pass
    finds the few it must look at (queued, or with need at the threshold). ``mask`` and ``out``: work arrays of a
    bool and a row number a person."""
    mask = np.empty(len(alive), np.bool_) if mask is None else mask
    _request_mask(need, waiting_since, threshold, mask)
    return _request_scan(rows_of(mask, out), alive, need, threshold, waiting_since, setting, flags, reason,
                         hours_table, informal, reablement_first, reablement_min_need)


@jit
def early_intervention_scan(alive, setting, need, flags, threshold):
    """The early-intervention scheme's scan (``Council._prevent``): rows flagged whose need is no longer
    emerging (levels 1-2, below the threshold, at home in no service; the dead too), how many flagged still
    emerge, and rows of people with emerging needs not yet found."""
    n_leave = n_found = supported = 0
    leave = np.empty(alive.shape[0], np.int64)
    found = np.empty(alive.shape[0], np.int64)
    for i in range(alive.shape[0]):
        lv = need[i]
        emerging = alive[i] & (setting[i] == COMMUNITY) & (lv >= 1) & (lv <= 2) & (lv < threshold)
        flagged = (flags[i] & _U8_EI) != 0
        if flagged:
            if emerging:
                supported += 1
            else:
                leave[n_leave] = i
                n_leave += 1
        elif emerging:
            found[n_found] = i
            n_found += 1
    return leave[:n_leave], supported, found[:n_found]


@jit
def care_census(alive, setting, funding, months_in_state):
    """One pass after the council's month for the NHS body and the care home market: care home residents by
    kind (residential, nursing) and whether they pay for themselves, shape (2, 2), and patients in hospital
    (admitted this month, there longer), shape (2,). Branch-free sums (SIMD)."""
    rc = rs = nc = ns = new = longer = 0
    for i in range(alive.shape[0]):
        s, a = setting[i], alive[i]
        own = funding[i] == SELF_FUNDED
        res, nur, ward = a & (s == RESIDENTIAL), a & (s == NURSING), a & (s == HOSPITAL)
        admitted = months_in_state[i] == 0
        rc += res & (not own)
        rs += res & own
        nc += nur & (not own)
        ns += nur & own
        new += ward & admitted
        longer += ward & (not admitted)
    return np.array([[rc, rs], [nc, ns]], np.int64), np.array([new, longer], np.int64)


@jit
def _roster_mask(alive, setting, funding, mask):
    """Living people in a care service or with a funding route (branch-free: SIMD)."""
    for i in range(alive.shape[0]):
        s = setting[i]
        mask[i] = alive[i] & (((s != COMMUNITY) & (s != HOSPITAL)) | (funding[i] != 0))


def roster(alive, setting, funding, mask=None, out=None):
    """Rows of living people in a care service or with a funding route: the few the council's month acts on.
    ``mask`` and ``out``: work arrays of a bool and a row number a person (made if not given); the rows are a view
    of ``out``."""
    mask = np.empty(len(alive), np.bool_) if mask is None else mask
    _roster_mask(alive, setting, funding, mask)
    return rows_of(mask, out)


@jit
def service_of(setting):
    """The care service (``actors.council.SERVICES``: 0 home care, 1 reablement, 2 residential, 3 nursing) of a care
    setting, -1 for none (at home without a service, in hospital)."""
    return np.intp(setting) - 1 if HOME_CARE <= setting <= NURSING else -1


@jit
def weekly_fee(service, old, hours, hourly_rate, home_rates, price):
    """Council rate per person-week (``Council.weekly_fee``), GBP: home care by ``hours`` at ``hourly_rate``, care
    homes from ``home_rates`` ([residential, nursing] x [18-64, 65+], before the price index) by kind and whether
    65 or ``old``er; reablement (paid by the episode) and no service nothing."""
    fee = 0.0
    if service == 0:
        fee = hours * hourly_rate
    elif service >= 2:
        fee = home_rates[service - 2, np.intp(old)]
    return fee * price


@jit
def weekly_charge(savings, in_home, lower_limit, limit_span, per_250, home_contribution):
    """What a council-funded client pays a week (``Council.weekly_charge``), GBP, before capping at the fee: tariff
    income on capital between the limits, plus a care home resident's contribution from income."""
    between = min(max(np.float64(savings) - lower_limit, 0.0), limit_span)
    return np.ceil(between / 250.0) * per_250 + (home_contribution if in_home else 0.0)


@jit
def net_weekly_fee(service, old, hours, savings, hourly_rate, home_rates, price, lower_limit, limit_span, per_250,
                   home_contribution):
    """Weekly cost to the council of a place: ``weekly_fee`` less the client's ``weekly_charge``, capped at the fee."""
    fee = weekly_fee(service, old, hours, hourly_rate, home_rates, price)
    charge = weekly_charge(savings, service >= 2, lower_limit, limit_span, per_250, home_contribution)
    return fee - min(charge, fee)


@jit
def roster_totals(rows, setting, funding, age_m, package_hours, savings, hourly_rate, home_rates, price, lower_limit,
                  limit_span, per_250, home_contribution, net_all, net_care_homes):
    """What the council has committed, in one pass over ``rows`` (its roster): the weekly cost to the council of
    each council-funded place (``Council.weekly_fee`` less the client's ``Council.weekly_charge``, capped at the
    fee), GBP, with the same arithmetic in the same order, written in row order for NumPy to sum into ``net_all``
    (all but reablement, paid by the episode) and ``net_care_homes`` (care home places). ``home_rates``: care home
    fees a week before the price index, [residential, nursing] x [18-64, 65+]. Returns how many it wrote to each,
    the working-age home care clients it funds (whose day services it pays too), home care hours a week in the
    packages it funds and in all packages, and people in reablement."""
    k_all = k_homes = young_home = council_hours = all_hours = in_reablement = 0
    for j in range(rows.shape[0]):
        i = rows[j]
        s, f = setting[i], funding[i]
        if s == HOME_CARE:
            all_hours += np.int64(package_hours[i])
            if f == COUNCIL_FUNDED:
                council_hours += np.int64(package_hours[i])
        elif s == REABLEMENT:
            in_reablement += 1
        if f != COUNCIL_FUNDED:
            continue
        old = age_m[i] >= 65 * 12
        in_home = s == RESIDENTIAL or s == NURSING
        if s == HOME_CARE and not old:
            young_home += 1
        if s == REABLEMENT:
            continue
        net_all[k_all] = net_weekly_fee(service_of(s), old, np.float64(package_hours[i]), savings[i], hourly_rate,
                                        home_rates, price, lower_limit, limit_span, per_250, home_contribution)
        k_all += 1
        if in_home:
            net_care_homes[k_homes] = net_all[k_all - 1]
            k_homes += 1
    return k_all, k_homes, young_home, council_hours, all_hours, in_reablement


@jit
def roster_select(rows, setting, funding, want_setting, want_funding):
    """The rows among ``rows`` (kept in their order) in care ``want_setting`` and with ``want_funding`` (-1: any),
    in one pass that reads each row's setting and funding once."""
    n = 0
    out = np.empty(rows.shape[0], np.int64)
    for j in range(rows.shape[0]):
        i = rows[j]
        if (want_setting < 0 or setting[i] == want_setting) and (want_funding < 0 or funding[i] == want_funding):
            out[n] = i
            n += 1
    return out[:n]


@jit
def roster_hours(rows, setting, funding, package_hours, want_funding):
    """Home care hours a week in the packages of the people among ``rows`` in home care with ``want_funding``
    (-1: any), an exact integer sum."""
    total = 0
    for j in range(rows.shape[0]):
        i = rows[j]
        if setting[i] == HOME_CARE and (want_funding < 0 or funding[i] == want_funding):
            total += np.int64(package_hours[i])
    return total


@jit
def merge_rows(sorted_rows, rows):
    """``sorted_rows`` (ascending, no repeats) with ``rows`` (any order) added where missing, still ascending."""
    add = np.sort(rows)
    out = np.empty(sorted_rows.shape[0] + add.shape[0], np.int64)
    i = j = n = 0
    while i < sorted_rows.shape[0] or j < add.shape[0]:
        if j >= add.shape[0] or (i < sorted_rows.shape[0] and sorted_rows[i] <= add[j]):
            x = sorted_rows[i]
            i += 1
        else:
            x = add[j]
            j += 1
        if n == 0 or out[n - 1] != x:
            out[n] = x
            n += 1
    return out[:n]


@jit
def council_payments(rows, setting, funding, age_m, package_hours, savings, reason, flags, hourly_rate, home_rates,
                     price, weeks, delivery_ratio, lower_limit, limit_span, per_250, home_contribution, premium,
                     upper_limit, n_reasons, charges, chc_fees, ran_down):
    """A month's fees for the people among ``rows`` in a care service paid by the week (``Council._pay``), with
    the same arithmetic in the same order: a fee is ``Council.weekly_fee`` x ``weeks`` (home care x
    ``delivery_ratio``, the share of hours delivered). The council pays its clients' fees and collects their
    charges (capped at the fee; written in row order into ``charges`` for NumPy to sum) and marks them long-term
    clients this year; self-funders pay the fee (care homes with ``premium``) from their savings and turn to
    the council once at or below ``upper_limit``; the NHS pays continuing healthcare (fees into ``chc_fees``).
    Returns the council's spend and self-funders' spend by service (4,), the council's long-term spend by
    (18-64, 65+) x support reason, the working-age home care clients it funds, and how many entries of
    ``charges``, ``chc_fees`` and ``ran_down`` (rows of self-funders turned to the council) it wrote."""
    spend = np.zeros(4)
    self_spend = np.zeros(4)
    long_term = np.zeros(2 * n_reasons)
    young = n_charges = n_chc = n_down = 0
    for j in range(rows.shape[0]):
        i = rows[j]
        service = service_of(setting[i])
        if service < 0 or service == 1:  # reablement is paid by the episode (at admission)
            continue
        old = age_m[i] >= 65 * 12
        in_home = service != 0
        fee = weekly_fee(service, old, np.float64(package_hours[i]), hourly_rate, home_rates, price) * weeks
        if not in_home:
            fee = fee * delivery_ratio  # home care is paid for the hours delivered
        f = funding[i]
        if f == COUNCIL_FUNDED:
            spend[service] += fee
            long_term[np.intp(old) * n_reasons + reason[i]] += fee
            flags[i] |= _U8_LTS
            if service == 0 and not old:
                young += 1
            charge = weekly_charge(savings[i], in_home, lower_limit, limit_span, per_250, home_contribution)
            charges[n_charges] = min(charge * weeks, fee)
            n_charges += 1
        elif f == SELF_FUNDED:
            paid = fee * (premium if in_home else 1.0)
            self_spend[service] += paid
            savings[i] = savings[i] - np.float32(paid)
            if savings[i] <= upper_limit:
                ran_down[n_down] = i
                n_down += 1
        elif f == NHS_FUNDED:
            chc_fees[n_chc] = fee
            n_chc += 1
    return spend, self_spend, long_term, young, n_charges, n_chc, n_down


@jit
def weights_of_living(weights, sex, age_m, alive, out):
    """``weights[sex, age in years]`` of each living person into ``out``, in row order, for NumPy to sum
    (``finance.demand_index``); returns how many."""
    k = 0
    for i in range(alive.shape[0]):
        if alive[i]:
            out[k] = weights[sex[i], min(np.intp(age_m[i]) // 12, N_AGES - 1)]
            k += 1
    return k
