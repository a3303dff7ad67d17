"""The council's compiled passes: admissions from its assessed queue (the plan, the means test, capacity and
money), reviews of home care packages, and new requests.

The council draws the month's random numbers and reads the money and capacity it has (from its roster), then
hands its queue, its clients or its new requests to these passes. They do what its NumPy code did in some 130
calls over the queue, 25 over the clients and 15 over the requests, with the same arithmetic in the same order
(float32 where the columns are float32, NumPy's rounding), so the results are the same bit for bit; each row is
read once, not once a call. ``tests/test_kernels.py`` holds the reviews and requests to the NumPy rules.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..jit import jit
from ..kernels import net_weekly_fee
from ..population import (ASSESSED, COMMUNITY, COUNCIL_FUNDED, HOME_CARE, HOSPITAL, KNOWN, LEARNING_DISABILITY,
                          NHS_FUNDED, NO_FUNDING, NOT_WAITING, NURSING, REABLED, REABLEMENT, RESIDENTIAL, SELF_FUNDED)

HOME, REAB, RES, NUR = range(4)  # planned services (actors.council.SERVICES); -1: none
_SETTING = np.array([HOME_CARE, REABLEMENT, RESIDENTIAL, NURSING], np.uint8)
_PAYER = np.array([COUNCIL_FUNDED, SELF_FUNDED, NHS_FUNDED], np.uint8)  # FUNDERS order: council, self, NHS
_REABLED, _KNOWN, _ASSESSED = int(REABLED), int(KNOWN), int(ASSESSED)


class Terms(NamedTuple):
    """The council's rules and prices for this month's admissions (GBP at this year's prices unless said)."""

    upper_limit: np.float32  # capital above which people pay for themselves (float32, as the savings column)
    lower_limit: float  # tariff income starts above this capital, GBP
    limit_span: float  # upper less lower limit, GBP
    per_250: float  # weekly tariff income per GBP 250 between the limits, GBP
    home_contribution: float  # a care home resident's weekly contribution from income, GBP
    hourly_rate: float  # home care per hour before the price index (``Council._base_hourly_rate``), GBP
    price: float  # real unit-cost index this year
    max_hours_65: float  # most home care hours a week before a care home, 65 and over
    max_hours_young: float  # the same, 18-64
    package_factor: float  # council packages as a share of assessed hours
    chc_share: float  # chance that a nursing placement at need 4 from hospital is NHS continuing healthcare
    day_services_week: float  # day services a week that go with one working-age home care client, GBP
    reablement_episode: float  # an episode of reablement, GBP
    weeks_left: float  # weeks left in the financial year, this month included
    scale: float  # people per agent
    frozen: bool  # no new council-funded care home placements this year
    discharge_priority: bool  # discharges go ahead while cuts to home care packages could pay for them
    initial: bool  # the placements before the first month (everyone assessed for continuing healthcare)


@jit
def _ceiling(age_m, max_hours_65, max_hours_young):
    """Most home care hours a week before a care home is planned instead (``Council.max_hours``)."""
    return max_hours_65 if age_m >= 65 * 12 else max_hours_young


@jit
def _capital(savings, housing, partner, care_home):
    """Capital for the means test, float32: savings, plus the home for someone without a partner moving into a care
    home. Above the upper limit, a person pays for their own care."""
    return savings + (housing if care_home and partner < 0 else np.float32(0.0))


@jit
def _net_fee(plan, old, hours, savings, t, home_rates):
    """Weekly cost to the council of a planned place (``kernels.net_weekly_fee`` at the month's ``Terms``), GBP."""
    return net_weekly_fee(plan, old, hours, savings, t.hourly_rate, home_rates, t.price, t.lower_limit, t.limit_span,
                          t.per_250, t.home_contribution)


@jit
def plan_services(idx, need, setting, flags, reason, age_m, partner, savings, housing, informal, hours_table,
                  threshold, u_nursing, nursing_share, reablement_first, reablement_max_need, reablement_room, t):
    """Planned service for each queued person ``idx`` (queue order; ``Council._plan``): HOME, REAB, RES, NUR or
    -1 when unpaid care already meets the need. A care home where home care cannot meet the need within the
    ceiling (nursing if ``u_nursing`` is below ``nursing_share``); reablement first where the policy says so, in
    queue order while there is room, for people leaving hospital and for those at home the council would fund;
    otherwise home care; nothing to admit for people in home care still fine at home."""
    plan = np.empty(idx.shape[0], np.int64)
    reabled = 0
    for j in range(idx.shape[0]):
        i = idx[j]
        lv, s = need[i], setting[i]
        net = hours_table[reason[i], lv] - informal[i]  # float32
        eligible = lv >= threshold
        care_home = net > _ceiling(age_m[i], t.max_hours_65, t.max_hours_young)
        home = eligible and care_home
        would_pay = _capital(savings[i], housing[i], partner[i], care_home) > t.upper_limit
        offered = s == HOSPITAL or (s == COMMUNITY and not would_pay)
        reable = (reablement_first and not home and lv <= reablement_max_need and (flags[i] & _REABLED) == 0
                  and offered and reason[i] != LEARNING_DISABILITY)
        p = HOME if net > 0 and eligible else -1
        if reable:
            reabled += 1
            if reabled <= reablement_room:
                p = REAB
        if home:
            p = NUR if u_nursing[j] < nursing_share else RES
        if s == HOME_CARE and not home:
            p = -1
        plan[j] = p
    return plan


@jit
def admit(idx, plan, u_chc, need, setting, funding, age_m, partner, savings, housing, package_hours, months_in_state,
          waiting_since, reason, informal, hours_table, home_rates, free_beds, hours_free, headroom, cuttable,
          care_home_room, t):
    """Admissions from the queue ``idx`` with its ``plan`` (``plan_services``), as ``Council._admit``:

    1. People whose need unpaid care meets leave the queue (and hospital).
    2. The means test (savings, and the home for someone alone moving into a care home, above the upper limit:
       self-funders) and NHS continuing healthcare (``u_chc``, one a person left); hours by need less unpaid
       care, within the ceiling, council packages times the package factor.
    3. Council-funded care home places beyond the care home ceiling (``care_home_room``, GBP a week): a patient
       goes home with the largest home care package, the rest stay queued.
    4. Capacity in queue order, those paid from outside the council's budget first: beds by kind
       (``free_beds``), home care hours (``hours_free``).
    5. Money: council-funded places while the year's ``headroom`` (GBP) lasts; with discharge priority,
       patients go ahead while cuts to packages (``cuttable``, GBP) could pay.

    The admitted take their service, funding and package; people moving into a care home add a home they sell to
    their capital. ``home_rates``: care home fees a week before the price index, [residential, nursing] x
    [18-64, 65+]. Returns the admitted rows (queue order), admissions by (service, funder), discharges from
    hospital by (home package, care home), people waiting for a bed, home care hours a week held back for want
    of workers, and beds taken by kind."""
    # 1. settled by unpaid care
    open_ = np.empty(idx.shape[0], np.int64)  # positions in idx still to place
    m = 0
    for j in range(idx.shape[0]):
        i = idx[j]
        if plan[j] < 0:
            waiting_since[i] = NOT_WAITING
            if setting[i] == HOSPITAL:
                setting[i] = COMMUNITY
        else:
            open_[m] = j
            m += 1
    rows = np.empty(m, np.int64)
    pl = np.empty(m, np.int64)
    hours = np.empty(m)
    in_home = np.empty(m, np.bool_)
    chc = np.empty(m, np.bool_)
    selfpay = np.empty(m, np.bool_)
    # 2. means test, continuing healthcare, hours
    for k in range(m):
        i = idx[open_[k]]
        p = plan[open_[k]]
        rows[k], pl[k] = i, p
        in_home[k] = p == RES or p == NUR
        chc[k] = p == NUR and need[i] == 4 and (setting[i] == HOSPITAL or t.initial) and u_chc[k] < t.chc_share
        selfpay[k] = (_capital(savings[i], housing[i], partner[i], in_home[k]) > t.upper_limit and p != REAB
                      and not chc[k])
        net = max(hours_table[reason[i], need[i]] - informal[i], np.float32(0.0))
        h = np.rint(min(np.float64(net), _ceiling(age_m[i], t.max_hours_65, t.max_hours_young)))
        hours[k] = h if selfpay[k] else np.floor(h * t.package_factor)
    # 3. the care home ceiling
    over = np.zeros(m, np.bool_)
    held = 0
    if np.isfinite(care_home_room):
        committed = 0.0
        for k in range(m):
            if in_home[k] and not (selfpay[k] or chc[k]):
                i = rows[k]
                committed += _net_fee(pl[k], age_m[i] >= 65 * 12, 0.0, savings[i], t, home_rates) * t.scale
                over[k] = not committed <= care_home_room
        keep = np.ones(m, np.bool_)
        for k in range(m):
            if over[k]:
                held += 1
                pl[k] = HOME
                in_home[k] = False
                keep[k] = setting[rows[k]] == HOSPITAL  # patients go home; the rest wait where they are
        if held:
            rows, pl, hours, in_home, chc, selfpay, over = (rows[keep], pl[keep], hours[keep], in_home[keep],
                                                           chc[keep], selfpay[keep], over[keep])
            m = rows.shape[0]
    outside = selfpay | chc  # paid for by the person or the NHS
    # 4. capacity in queue order: beds by kind, then home care hours; outside the council's budget first
    fits = np.ones(m, np.bool_)
    ranked = np.zeros(2, np.int64)
    taken = np.zeros(2, np.int64)
    for k in range(m):
        if in_home[k] and outside[k]:
            kind = np.intp(pl[k] == NUR)
            fits[k] = ranked[kind] < free_beds[kind]
            taken[kind] += fits[k]
            ranked[kind] += 1
    ranked[:] = 0
    for k in range(m):
        if in_home[k] and not outside[k]:
            kind = np.intp(pl[k] == NUR)
            fits[k] = ranked[kind] < free_beds[kind] - taken[kind] and not t.frozen
            ranked[kind] += 1
    out_hours = used = pending = 0.0  # pending: hours a week held back for want of workers (whole hours: exact)
    for k in range(m):
        if pl[k] == HOME and outside[k]:
            out_hours += hours[k]
            if out_hours <= hours_free:
                used = max(used, out_hours)
            else:
                fits[k] = False
                pending += hours[k]
    council_hours = 0.0
    for k in range(m):
        if pl[k] == HOME and not outside[k]:
            council_hours += hours[k]
            if not council_hours <= hours_free - used:
                fits[k] = False
                pending += hours[k]
    # 5. money, for the council-funded candidates in queue order
    admitted = fits & outside
    cost = np.empty(m)
    spent = 0.0
    short = False
    for k in range(m):
        if fits[k] and not outside[k]:
            i = rows[k]
            old = age_m[i] >= 65 * 12
            if pl[k] == REAB:
                cost[k] = t.reablement_episode * t.price * t.scale
            else:
                fee = _net_fee(pl[k], old, hours[k], savings[i], t, home_rates)
                fee += t.day_services_week if pl[k] == HOME and not old else 0.0
                cost[k] = fee * t.weeks_left * t.scale
            spent += cost[k]
            admitted[k] = spent <= headroom
            short = short or not admitted[k]
    if t.discharge_priority and short:
        ward_spent = 0.0
        for k in range(m):
            if fits[k] and not outside[k] and setting[rows[k]] == HOSPITAL:
                ward_spent += cost[k]
                admitted[k] = admitted[k] or ward_spent <= headroom + cuttable
    # the admitted take their places
    admissions = np.zeros((4, 3), np.int64)
    discharges = np.zeros(2, np.int64)
    beds = np.zeros(2, np.int64)
    waiting_for_bed = held
    n = 0
    out = np.empty(m, np.int64)
    for k in range(m):
        if in_home[k] and not admitted[k]:
            waiting_for_bed += 1
        if not admitted[k]:
            continue
        i, p = rows[k], pl[k]
        payer = 1 if selfpay[k] else (2 if chc[k] else 0)
        if setting[i] == HOSPITAL and payer != 2:
            discharges[np.intp(in_home[k])] += 1
        setting[i] = _SETTING[p]
        funding[i] = _PAYER[payer]
        package_hours[i] = np.uint8(hours[k]) if p == HOME else 0
        months_in_state[i] = 0
        if not over[k]:
            waiting_since[i] = NOT_WAITING
        if p == RES or p == NUR:
            if partner[i] < 0:  # the home is sold or deferred: its value joins capital
                savings[i] = savings[i] + housing[i]
                housing[i] = 0.0
            beds[p - RES] += 1
        admissions[p, payer] += 1
        out[n] = i
        n += 1
    return out[:n], admissions, discharges, waiting_for_bed, pending, beds


@jit
def review_packages(rows, need, setting, funding, package_hours, flags, waiting_since, reason, age_m, informal,
                    hours_table, threshold, t, month_step, raise_rows, raise_to, raise_from):
    """Reviews of home care packages (``Council._review_packages``) for the clients of ``rows``: packages of people
    now below the ``threshold`` end; people whose need home care cannot meet within the ceiling join the queue,
    assessed for a care home; packages are sized at assessed hours (need less unpaid care, within the ceiling),
    council packages at ``package_factor`` (``t``) of them. Self-funders buy what they need and council packages
    shrink at once; council packages that would grow are listed for the money to decide (``raise_rows``, their
    new and current hours in ``raise_to`` and ``raise_from``, in row order). Returns how many it listed."""
    n = 0
    for j in range(rows.shape[0]):
        i = rows[j]
        if need[i] < threshold:
            setting[i], funding[i], package_hours[i] = COMMUNITY, NO_FUNDING, 0
            flags[i] &= ~_KNOWN
            continue
        net = max(hours_table[reason[i], need[i]] - informal[i], np.float32(0.0))
        ceiling = _ceiling(age_m[i], t.max_hours_65, t.max_hours_young)
        if net > ceiling and waiting_since[i] < 0:
            waiting_since[i] = month_step
            flags[i] |= _ASSESSED  # reviewed: assessed for a care home
        target = np.uint8(np.rint(min(np.float64(net), ceiling)))
        council_target = np.uint8(np.floor(target * t.package_factor))
        if funding[i] == SELF_FUNDED:
            package_hours[i] = target
        elif council_target <= package_hours[i]:
            package_hours[i] = council_target
        else:
            raise_rows[n], raise_to[n], raise_from[n] = i, council_target, package_hours[i]
            n += 1
    return n


@jit
def known_at_start(contact, leaving, known_on_entry):
    """Chance that an eligible person is already known (or already buying care) at the start, once the base
    year's flows have run long enough: those not known on becoming eligible are reached at rate ``contact``
    before they leave at rate ``leaving``, over an exponential time since, which gives contact / (contact +
    leaving)."""
    total = contact + leaving
    reached = contact / total if total > 0 else 0.0  # never reached: not known
    return 1.0 - (1.0 - known_on_entry) * (1.0 - reached)


@jit
def present(new, u, need, reason, age_m, partner, savings, housing, flags, waiting_since, informal, hours_table,
            with_unpaid_care, without_unpaid_care, private_arrangement, upper_limit, max_hours_65, max_hours_young,
            month_step, initial, contact, leaving, known_on_entry):
    """People with eligible need not yet known (``new``) come to the council, or arrange care themselves if they
    would pay for it (``Council._take_requests``): each with the month's chance (with or without unpaid care,
    of a private arrangement; certain with a learning disability, known from children's services), decided by
    ``u``. Those who come are known and queued from ``month_step``; self-funders arranging their own care need no
    council assessment. ``upper_limit``: the means test's (float32); ``max_hours_*``: home care's ceiling by age.
    With ``initial`` (the placements before the first month), the chance is that of being known already
    (``known_at_start``): hospitals refer too (``contact``, by row), people leave eligibility at ``leaving`` and
    some are known on becoming eligible. Returns how many came to the council and how many arranged care
    privately."""
    presented = private = 0
    for j in range(new.shape[0]):
        i = new[j]
        care_home = hours_table[reason[i], need[i]] - informal[i] > _ceiling(age_m[i], max_hours_65, max_hours_young)
        would_pay = _capital(savings[i], housing[i], partner[i], care_home) > upper_limit
        chance = with_unpaid_care if informal[i] > 0 else without_unpaid_care
        if would_pay:
            chance = private_arrangement
        if initial:  # a self-funder's stay in hospital ends in care too (the council arranges it)
            chance = known_at_start(chance + contact[i], leaving[i], known_on_entry[i])
        if reason[i] == LEARNING_DISABILITY:
            chance = 1.0
        if not u[j] < chance:
            continue
        if would_pay:
            flags[i] |= _KNOWN | _ASSESSED
            private += 1
        else:
            flags[i] = (flags[i] | _KNOWN) & ~_ASSESSED
            presented += 1
        waiting_since[i] = month_step
    return presented, private
