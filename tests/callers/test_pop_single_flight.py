"""One lookup per agent and number at a time: pops of the same number that arrive together (a ringing call's
pre-fetch and the panel's pop, several tabs, a retry) cost one lookup, 2 API requests, however they race; a lookup
that died or failed holds nobody up beyond the pop's timeout; other agents and other numbers never wait.

The local org adds latency to every API request so that the racers really overlap."""

from __future__ import annotations

import threading
import time

import pytest

from calls_support import Dialer, run_call
from panel.callers import lookup
from panel.localorg.seed import IDS, ORG_ID, USER_IDS
from panel.salesforce.client import SalesforceClient
from panel.salesforce.errors import SalesforceUnavailable

AGENT = lookup.Agent(org_id=ORG_ID, user_id=USER_IDS["agent"], name="佐藤 花子")
OTHER_AGENT = lookup.Agent(org_id=ORG_ID, user_id=USER_IDS["agent2"], name="高木 翼")
SETTINGS = lookup.PopSettings(region="JP")
HX = {"HX-Request": "true"}
RACES = 5


@pytest.fixture
def salesforce(localorg) -> SalesforceClient:
    token = localorg.client_credentials_token()
    return SalesforceClient(token["instance_url"], token["access_token"], api_version="62.0")


@pytest.fixture
def slow_org(localorg):
    localorg.admin("faults", latency_ms=60)
    yield localorg
    localorg.admin("faults")


def together(*jobs) -> list:
    """Run the jobs on threads released at the same instant; their answers in order (a job's exception re-raised)."""
    start = threading.Barrier(len(jobs))
    answers: list = [None] * len(jobs)

    def run(index: int, job) -> None:
        start.wait()
        try:
            answers[index] = job()
        except BaseException as error:  # re-raised below, in the test's thread
            answers[index] = error

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return answers


def in_app(app, job):
    def run():
        with app.app_context():
            return job()
    return run


def forget_lookups(app) -> None:
    from panel.extensions import cache

    with app.app_context():
        cache.clear()


def test_concurrent_pops_of_one_number_for_one_agent_cost_two_api_requests(app, slow_org, salesforce):
    costs = []
    for _ in range(RACES):
        forget_lookups(app)
        spent = slow_org.api_requests()
        results = together(*[in_app(app, lambda: lookup.pop(AGENT, "03-1234-5678", salesforce, settings=SETTINGS))
                             for _ in range(6)])
        costs.append(slow_org.api_requests() - spent)
        assert {(r.state, r.card.record_id) for r in results} == {("card", IDS["contact.yamada_taro"])}
    assert costs == [2] * RACES


def test_a_ringing_calls_prefetch_and_the_pop_arriving_together_look_the_caller_up_once(app, signed_in_client,
                                                                                      slow_org):
    costs = []
    for race in range(RACES):
        forget_lookups(app)
        call_id = f"ring-and-pop-{race}"
        Dialer(signed_in_client, call_id).send(Dialer(signed_in_client, call_id).ringing())
        spent = slow_org.api_requests()
        _, shown = together(lambda: run_call(app, call_id), lambda: signed_in_client.get(
            f"/panel?phone=03-1234-5678&call_id={call_id}&direction=inbound", headers=HX))
        costs.append(slow_org.api_requests() - spent)
        assert 'data-state="card"' in shown.text
    assert costs == [2] * RACES


def test_other_agents_and_other_numbers_are_not_held_up_by_a_lookup_in_flight(app, slow_org, salesforce):
    release = threading.Event()

    def stuck_client():  # the first agent's lookup is in flight until the others are done
        release.wait(10)
        return salesforce

    stuck = threading.Thread(target=in_app(app, lambda: lookup.pop(AGENT, "03-1234-5678", stuck_client,
                                                                      settings=SETTINGS)))
    stuck.start()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        other_agent, other_number = together(
            in_app(app, lambda: lookup.pop(OTHER_AGENT, "03-1234-5678", salesforce, settings=SETTINGS)),
            in_app(app, lambda: lookup.pop(AGENT, "+81 3 2345 6789", salesforce, settings=SETTINGS)))
        waited = time.monotonic() - started
    finally:
        release.set()
        stuck.join(10)
    assert other_agent.card.record_id == IDS["contact.yamada_taro"]
    assert other_number.card.record_id == IDS["contact.suzuki_ichiro"]
    assert waited < SETTINGS.timeout_s / 2


def test_when_the_first_lookup_fails_the_waiting_pop_looks_the_caller_up_itself(app, slow_org, salesforce):
    entered = threading.Event()

    def failing_client():
        entered.set()
        time.sleep(0.3)  # long enough for the second pop to be waiting for this one
        raise SalesforceUnavailable("Salesforce did not answer")

    def second():
        entered.wait(5)
        return lookup.pop(AGENT, "03-1234-5678", salesforce, settings=SETTINGS)

    spent = slow_org.api_requests()
    failed, served = together(in_app(app, lambda: lookup.pop(AGENT, "03-1234-5678", failing_client,
                                                             settings=SETTINGS)), in_app(app, second))
    assert (failed.state, failed.failure) == ("unavailable", "unreachable")
    assert served.state == "card" and served.card.record_id == IDS["contact.yamada_taro"]
    assert slow_org.api_requests() - spent == 2


def test_a_lookup_that_hangs_holds_the_pop_up_no_longer_than_the_pop_timeout(app, slow_org, salesforce):
    """As for a process killed mid-lookup, which never answers nor lets go (its claim expires later)."""
    quick = lookup.PopSettings(region="JP", timeout_s=1.0)
    vanished = threading.Event()

    def dying_client():
        vanished.wait(10)
        raise SalesforceUnavailable("never answered")

    stuck = threading.Thread(target=in_app(app, lambda: lookup.pop(AGENT, "03-1234-5678", dying_client,
                                                                      settings=quick)), daemon=True)
    stuck.start()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        with app.app_context():
            result = lookup.pop(AGENT, "03-1234-5678", salesforce, settings=quick)
        waited = time.monotonic() - started
    finally:
        vanished.set()
        stuck.join(10)
    assert result.state == "card" and result.card.record_id == IDS["contact.yamada_taro"]
    assert 0.8 <= waited < quick.timeout_s + 2
