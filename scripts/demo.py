"""JouleLedger demo: a busy GPU market on a local chain, from posting to payout.

`make demo` runs it (`make demo CHAIN=ganache|embedded` on the other chains). It starts its
own chain, deploys the protocol, and then:

1. three providers with different GPU classes, prices and efficiencies stake, register and
   each start an oracle node (the `OracleNode` that `jl-oracle serve` runs, in this process,
   with the simulated meter unless NVML finds a GPU; it says which);
2. two clients post jobs during a busy period with different priority bids, some with a
   permit, some through the SDK's bulk path; a third client, who locked CPT in the holdings
   vault beforehand, posts small bids that its holdings boost ahead of richer ones;
   providers take every job in priority order (bid + boost, by level, then age);
3. the nodes run the jobs, meter and sign them, and settle them, mostly in batches;
4. one dispute ends in the client's favour (the provider is slashed), one in the
   provider's, and one job expires (a provider claims it and never delivers);
5. after the dispute window everyone withdraws, and it prints a report (per provider:
   jobs, earnings, energy, tokens per joule, gas per job; per client: spent and refunded;
   the supply check) and writes it as JSON, with a PNG chart, into demo-output/;
6. stops every node and the chain and exits 0 (1 if a money check fails).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import demo_screens
from demo_report import (
    ClientReport,
    ProviderReport,
    Report,
    check_claim_order,
    cpt,
    holder_report,
    money_checks,
    print_report,
    provider_gas,
    say,
    write_output,
)
from eth_account import Account
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_delay, wait_fixed
from web3.logs import DISCARD

from jouleledger import ChainKind, Devnet, JouleLedgerError, start_devnet
from jouleledger.client import JobRequest, JouleLedger
from jouleledger.deployment import ProtocolConfig, deploy_protocol
from jouleledger.types import JobState
from jouleledger.units import format_amount, parse_amount
from jouleledger_oracle.chain import LedgerChain
from jouleledger_oracle.metering import select_meter
from jouleledger_oracle.node import NodeConfig, OracleNode
from jouleledger_oracle.signer import OracleSigner
from jouleledger_oracle.specs import SpecRegistry
from jouleledger_oracle.store import OracleStore

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "demo-output"
CONFIG = ProtocolConfig(
    dispute_window=600,
    arbiter_timeout=600,
    unbonding_delay=1800,
    collateral_bps=5_000,
    fee_bps=100,
    dispute_bond=parse_amount("5"),
    # Holdings boost new posts in a busy class by 0.1% of the warm holdings (at most 5 CPT),
    # one job per 100 CPT held per hour. When a class counts as busy depends on the run's
    # size (see `run`).
    holdings_warmup=600,
    boost_bps=10,
    max_boost=parse_amount("5"),
    holding_per_job=parse_amount("100"),
)
HOLDING = parse_amount("2000")
HOLDER_BID = "0.25"


@dataclass(frozen=True)
class ProviderPlan:
    name: str
    gpu_class: str
    ask: str  # CPT per GPU-second


PROVIDERS = (
    ProviderPlan("atlas", "nvidia-h100", "0.0010"),
    ProviderPlan("borealis", "nvidia-a100", "0.0006"),
    ProviderPlan("cirrus", "nvidia-l40s", "0.0004"),
)


def wait_for(what: str, done: Callable[[], bool], timeout: float = 90.0) -> None:
    """Poll `done` (it reads the chain, which other threads drive) until true or timeout."""

    def give_up(_: RetryCallState) -> None:
        raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")

    Retrying(
        retry=retry_if_result(lambda held: not held),
        wait=wait_fixed(0.1),
        stop=stop_after_delay(timeout),
        retry_error_callback=give_up,
    )(done)


def run(chain: ChainKind, jobs_per_client: int = 26, output: Path | None = OUTPUT) -> Report:
    started = time.monotonic()
    # A class is busy once about half of one client's jobs wait in it, so that a reduced run
    # has busy periods too.
    config = replace(CONFIG, busy_threshold=max(2, jobs_per_client // 2))
    devnet = start_devnet(chain, accounts=8, search_from=ROOT)
    with devnet as net, tempfile.TemporaryDirectory() as tmp:
        say(f"chain      {chain} at {net.rpc_url or 'in this process'}, chain id {net.chain_id}")
        accounts = net.accounts
        admin = JouleLedger(net.w3, deploy_protocol(net.w3, accounts[0], config), accounts[0])
        d = admin.deployment
        say(f"deployed   token {d.token}, staking {d.staking}, market {d.market}")
        supply = int(admin.token.functions.totalSupply().call())

        nodes, provider_clients = start_providers(net, admin, Path(tmp))
        clients = [admin.as_account(accounts[4]), admin.as_account(accounts[5])]
        for client in clients:
            admin.transfer(client.address, parse_amount("5000"))
        flaky = admin.as_account(accounts[6])  # claims a job and never delivers
        admin.transfer(flaky.address, parse_amount("20000"))
        flaky.stake(parse_amount("20000"))
        # Its own GPU class, so that no public job is one it could take instead.
        flaky.register_provider(Account.create(), "rtx-4090", parse_amount("0.001"), "-")

        # A token holder locks CPT ahead of time; it counts once warm.
        holder = admin.as_account(accounts[7])
        admin.transfer(holder.address, HOLDING + parse_amount("100"))
        holder.lock_holdings(HOLDING)
        net.control.advance_time(CONFIG.holdings_warmup + 1)
        boost = format_amount(holder.holding().boost_per_job)
        say(f"holder     {holder.address} locked {format_amount(HOLDING)} CPT; boost per job "
            f"{boost} CPT while a class is busy")  # fmt: skip

        # A busy period: the queues fill up with bids before the nodes start claiming.
        posted = post_busy_period(admin, clients, jobs_per_client)
        boosted = post_boosted(holder)
        posted += boosted
        late = JobRequest(
            "rtx-4090",
            parse_amount("0.001"),
            parse_amount("2"),
            deadline=admin._now() + 120,
            provider=flaky.address,
        )
        expiring = clients[0].post_job(late)
        flaky.claim_job(expiring)
        for node in nodes:
            node.start()
        say(f"posted     {len(posted) + 1} jobs ({len(boosted)} boosted by holdings); the nodes "
            "take them in priority order")  # fmt: skip

        wait_for(
            "every job to be settled",
            lambda: all(admin.job(j).state >= JobState.SETTLED for j in posted),
            timeout=600 if chain is ChainKind.EMBEDDED else 120,  # py-evm runs ~30 tx/s
        )
        claim_order_ok = check_claim_order(admin, posted)
        sizes = [e["args"]["jobs"] for e in admin.events("UsageAttested")]
        batched = sum(n for n in sizes if n > 1)
        say(f"settled    {len(posted)} jobs in {len(sizes)} transactions ({batched} of them in "
            f"batches); claims followed the priorities: {claim_order_ok}")  # fmt: skip

        # Disputes: the client wins one (provider slashed) and loses one.
        by_provider: dict[str, list[int]] = {}
        for job_id in posted:
            by_provider.setdefault(str(admin.job(job_id).provider), []).append(job_id)
        disputed = [by_provider[str(nodes[0].provider)][0], by_provider[str(nodes[1].provider)][0]]
        for job_id, client_wins in zip(disputed, (True, False), strict=True):
            owner = next(c for c in clients if c.address == admin.job(job_id).client)
            owner.open_dispute(job_id)
            receipt = admin.resolve_dispute(job_id, client_wins)
            event = admin.market.events.DisputeResolved().process_receipt(receipt, DISCARD)[0][
                "args"
            ]
            winner = "client" if client_wins else "provider"
            say(f"dispute    job {job_id}: the arbiter sides with the {winner}; "
                f"slashed {format_amount(event['slashed'])} CPT")  # fmt: skip

        # The flaky provider's job passes its deadline: anyone may expire it.
        net.control.advance_time(180)
        receipt = clients[1].expire_job(expiring)
        event = admin.market.events.JobExpired().process_receipt(receipt, DISCARD)[0]["args"]
        say(f"expired    job {expiring}: client refunded {format_amount(event['refund'])} CPT "
            f"plus {format_amount(event['penalty'])} CPT of the provider's stake")  # fmt: skip

        # The dispute window passes; nodes withdraw their earnings, clients their refunds.
        net.control.advance_time(CONFIG.dispute_window + 1)
        wait_for(
            "the nodes to withdraw their earnings",
            lambda: all(
                admin.job(j).state == JobState.FINALIZED for j in posted if j not in disputed
            ),
            timeout=60,
        )
        for node in nodes:
            node.stop()
        client_refunds = withdraw_clients(admin, clients, [*posted, expiring])

        client_refunds |= withdraw_clients(admin, [holder], boosted)
        report = build_report(net, admin, chain, nodes, provider_clients, clients, posted,
                              client_refunds, claim_order_ok, supply, started)  # fmt: skip
        report.holder = holder_report(admin, holder, boosted, HOLDING)
        demo_screens.after_scenario(net, d, output)  # dashboard screenshots, `make dashboard`
    print_report(report)
    if output is not None:
        write_output(report, output)
    return report


def start_providers(
    net: Devnet, admin: JouleLedger, tmp: Path
) -> tuple[list[OracleNode], list[JouleLedger]]:
    nodes, clients = [], []
    for index, plan in enumerate(PROVIDERS, start=1):
        client = admin.as_account(net.accounts[index])
        admin.transfer(client.address, parse_amount("20000"))
        client.stake(parse_amount("20000"))
        key = Account.create()
        endpoint = f"local:{plan.name}"
        client.register_provider(key, plan.gpu_class, parse_amount(plan.ask), endpoint)
        meter = select_meter("auto", gpu_class=plan.gpu_class, seed=index)
        node = OracleNode(
            chain=LedgerChain(JouleLedger(net.w3, admin.deployment, net.accounts[index])),
            store=OracleStore(tmp / f"{plan.name}.db"),
            meter=meter,
            signer=OracleSigner(bytes(key.key)),
            specs=SpecRegistry(),
            config=NodeConfig(
                batch_size=8, batch_delay_s=1.0, poll_interval_s=0.2, withdraw_interval_s=0.5
            ),
        )
        say(f"provider   {plan.name:<9} {plan.gpu_class:<12} ask {plan.ask} CPT/GPU-s, "
            f"{meter.kind} meter, oracle {key.address}")  # fmt: skip
        nodes.append(node)
        clients.append(client)
    return nodes, clients


def post_busy_period(admin: JouleLedger, clients: list[JouleLedger], per_client: int) -> list[int]:
    """Post jobs with bids from 0 to 2 CPT over the three classes: client 0 one by one with
    permits, client 1 through the bulk path."""
    posted: list[int] = []
    for n in range(per_client):
        plan = PROVIDERS[n % len(PROVIDERS)]
        bid = parse_amount(str((n * 7) % 5 * 0.5))
        request = JobRequest(plan.gpu_class, parse_amount(plan.ask) * 2, parse_amount("3"), bid=bid)
        posted.append(clients[0].post_job(request, use_permit=True))
    bulk = [
        JobRequest(
            PROVIDERS[n % 3].gpu_class,
            parse_amount(PROVIDERS[n % 3].ask) * 2,
            parse_amount("3"),
            bid=parse_amount(str((n * 3) % 4 * 0.25)),
        )
        for n in range(per_client)
    ]
    posted += clients[1].post_jobs(bulk)  # one postJobs transaction for all of them
    return posted


def post_boosted(holder: JouleLedger) -> list[int]:
    """The holder posts small bids into the busy classes: its holdings boost them."""
    jobs: list[int] = []
    for plan in PROVIDERS:
        status = holder.class_status(plan.gpu_class)
        if not status.busy:
            say(f"quiet      {plan.gpu_class}: {status.open_jobs} open jobs, not busy (from "
                f"{status.busy_threshold}): holdings would not count there")  # fmt: skip
            continue
        request = JobRequest(
            plan.gpu_class,
            parse_amount(plan.ask) * 2,
            parse_amount("3"),
            bid=parse_amount(HOLDER_BID),
        )
        jobs.append(holder.post_job(request))
    return jobs


def withdraw_clients(
    admin: JouleLedger, clients: list[JouleLedger], jobs: list[int]
) -> dict[str, int]:
    """Each client pulls its refunds and credits; returns what each got."""
    refunds: dict[str, int] = {}
    views = {j: admin.job(j) for j in jobs}
    for client in clients:
        mine = [
            j
            for j, view in views.items()
            if view.client == client.address and view.refund and not view.refund_withdrawn
        ]
        refunds[client.address] = client.withdraw(mine) if mine or client.credit() else 0
    return refunds


def build_report(
    net: Devnet,
    admin: JouleLedger,
    chain: ChainKind,
    nodes: list[OracleNode],
    providers: list[JouleLedger],
    clients: list[JouleLedger],
    posted: list[int],
    client_refunds: dict[str, int],
    claim_order_ok: bool,
    supply: int,
    started: float,
) -> Report:
    w3 = net.w3
    report = Report(chain.value, net.chain_id, 0.0, len(posted) + 1, claim_order_ok)
    withdrawn = {e["args"]["account"]: 0 for e in admin.events("Withdrawn")}
    for e in admin.events("Withdrawn"):
        withdrawn[e["args"]["account"]] += e["args"]["amount"]
    slashed: dict[str, int] = {}
    for e in admin.events("Slashed"):
        slashed[e["args"]["provider"]] = slashed.get(e["args"]["provider"], 0) + e["args"]["amount"]
    for plan, node, provider in zip(PROVIDERS, nodes, providers, strict=True):
        stats = admin.provider_stats(provider.address)
        gas = provider_gas(w3, admin, provider.address)
        report.providers.append(
            ProviderReport(
                name=plan.name,
                address=provider.address,
                gpu_class=plan.gpu_class,
                meter=node.meter.kind,
                jobs_settled=stats.jobs_settled,
                settled_cpt=cpt(stats.earned),
                paid_out_cpt=cpt(withdrawn.get(provider.address, 0)),
                slashed_cpt=cpt(slashed.get(provider.address, 0)),
                energy_j=round(stats.energy_mj / 1000, 3),
                ai_tokens=stats.ai_tokens,
                tokens_per_joule=round(stats.tokens_per_joule, 3),
                gas_per_job=gas // max(stats.jobs_settled, 1),
            )
        )
    for index, client in enumerate(clients):
        escrowed = sum(
            e["args"]["maxPayment"] + e["args"]["bid"]
            for e in admin.events("JobPosted", client=client.address)
        )
        refunded = client_refunds.get(client.address, 0)
        report.clients.append(
            ClientReport(
                name=f"client-{index + 1}",
                address=client.address,
                jobs_posted=len(admin.events("JobPosted", client=client.address)),
                spent_cpt=cpt(escrowed - refunded),
                refunded_cpt=cpt(refunded),
            )
        )
    report.checks = money_checks(admin, supply, [a.address for a in net.accounts])
    report.seconds = round(time.monotonic() - started, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", choices=[k.value for k in ChainKind], default="anvil")
    parser.add_argument("--jobs-per-client", type=int, default=26)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The demo prints which meter each node uses; the meter's own fallback warning repeats it.
    logging.getLogger("jouleledger_oracle.metering").setLevel(logging.ERROR)
    try:
        report = run(ChainKind(args.chain), args.jobs_per_client)
    except (JouleLedgerError, TimeoutError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
