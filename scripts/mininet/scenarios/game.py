"""game: the game server on h1, with bot players on h2, h3 and h4.

Each host runs `game-lab bench`: bots that connect, ask for a game by matchmaking, and play
whole games as fast as the server answers. Each host's bots play a different game, so they are
paired among themselves and every host's run ends on its own; every move still crosses the
switch to h1 and back. The server holds all the games at once, one connection per bot.
"""

from lab import Lab, say
from links import Shape
from programs import ScenarioFailed

TOPOLOGY = "star"
SUMMARY = "game-lab serve on h1; bot players on h2, h3 and h4, one game each"
SHAPE = Shape()
BOTS = {"h2": "tictactoe", "h3": "rps", "h4": "hangman"}
PLAYERS_PER_HOST = 4
GAMES_PER_BOT = 2


def run(shape: Shape) -> None:
    with Lab(TOPOLOGY, shape, hosts=4) as lab:
        lab.describe()
        server = lab.start("h1", ["game-lab", "serve", "--bind", "10.0.0.1", "--port", "7080"])
        say("h1  " + server.expect(r"^listening on ").string)
        benches = {}
        for host, game in BOTS.items():
            benches[host] = lab.start(host, [
                "game-lab", "bench", "10.0.0.1:7080", "--game", game,
                "--players", str(PLAYERS_PER_HOST), "--games", str(GAMES_PER_BOT),
                "--seed", host.removeprefix("h"), "--timeout", "30",
            ])
        for host, bench in benches.items():
            result = bench.expect(r"games finished by .* (\d+) errors$")
            say(f"{host}  {result.string}")
            status = bench.wait()
            if status != 0 or result.group(1) != "0":
                raise ScenarioFailed(f"{host}: game-lab bench exited with {status}: "
                                     f"{result.string}")
        say(f"PASS game: {len(BOTS) * PLAYERS_PER_HOST} bots on {len(BOTS)} hosts finished "
            "their games on h1's server without an error")
