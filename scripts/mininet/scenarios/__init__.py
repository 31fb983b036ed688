"""One scenario per lab, each a module with TOPOLOGY, SUMMARY and run(shape).

A scenario builds its network, runs the lab's real programs in the hosts, prints what happened
(each command as `host$ command`, each line typed as `host> line`, each line it waited for as
`host  line`), and ends with a PASS line, or raises ScenarioFailed saying what did not happen.
"""

from scenarios import chat, echo, ftp_nat, game, udp_chat

SCENARIOS = {
    "echo": echo,
    "chat": chat,
    "udp-chat": udp_chat,
    "game": game,
    "ftp-nat": ftp_nat,
}
