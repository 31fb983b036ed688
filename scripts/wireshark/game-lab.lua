-- game-lab.lua: a Wireshark dissector for netlab's game server (labs/game, `game-lab serve`),
-- protocol `netlab_game`. The protocol is specified in docs/protocols/game.md (what every server
-- must speak) and docs/game.md, section 4 (everything `game-lab serve` speaks); install and
-- usage are in docs/wireshark.md.
--
-- Every message is one line of UTF-8 text ending in "\n" (a "\r" before it is dropped). A TCP
-- segment may hold part of a line, or a whole board of seven lines: this dissector shows one
-- `netlab_game` item per line, in the segment that completes it, asking Wireshark's TCP
-- reassembly for one more segment while a line's "\n" has not arrived.
--
-- Fields (filter names):
--   netlab_game.sender    "client" or "server"
--   netlab_game.line      the whole line
--   netlab_game.command   a client line's first word, lower-cased (quick, move, quit, say, ...)
--   netlab_game.keyword   a server line's first word (WELCOME, JOINED, START, BOARD, YOURTURN,
--                         MOVED, RESULT, ERR, ...); a board row ("|  4 | X | 6") has none
--   netlab_game.board_row a board row, the text after "| "
--   netlab_game.args      the rest of the line after the first word
--   netlab_game.room      the room a server line is about (the word after the keyword)
--   netlab_game.player    MOVED's player: who moved
--   netlab_game.move      the move: `move N`'s N from a client, MOVED's move from the server
--
-- Registered on TCP port 7080 (DEFAULT_PORT in labs/game/src/cli.rs); the preference
-- netlab_game.port changes it (`tshark -o netlab_game.port:9000`), and Decode As
-- (`-d tcp.port==PORT,netlab_game`) adds any port.

local proto = Proto("netlab_game", "netlab game (game-lab, docs/protocols/game.md)")

-- The longest client line, without its "\n": 512 bytes (docs/protocols/game.md, "Lines" and
-- "Limits"; MAX_LINE in labs/game/src/server/protocol.rs). Server lines have no limit in the
-- protocol; this dissector stops waiting for a "\n" after SERVER_LINE_GIVE_UP bytes.
local MAX_CLIENT_LINE = 512
local SERVER_LINE_GIVE_UP = 64 * 1024
local DEFAULT_PORT = 7080

-- Server keywords followed by the room they are about (docs/game.md, section 4).
local ABOUT_A_ROOM = { JOINED = true, WAITING = true, START = true, TOKEN = true, BOARD = true,
    YOURTURN = true, TURN = true, MOVED = true, CHAT = true, AWAY = true, BACK = true,
    LEFT = true, SPECTATING = true, RESULT = true }

local fields = {
    sender = ProtoField.string("netlab_game.sender", "Sender"),
    line = ProtoField.string("netlab_game.line", "Line"),
    command = ProtoField.string("netlab_game.command", "Command"),
    keyword = ProtoField.string("netlab_game.keyword", "Keyword"),
    board_row = ProtoField.string("netlab_game.board_row", "Board row"),
    args = ProtoField.string("netlab_game.args", "Arguments"),
    room = ProtoField.string("netlab_game.room", "Room"),
    player = ProtoField.string("netlab_game.player", "Player"),
    move = ProtoField.string("netlab_game.move", "Move"),
}
proto.fields = { fields.sender, fields.line, fields.command, fields.keyword, fields.board_row,
    fields.args, fields.room, fields.player, fields.move }

local experts = {
    oversize = ProtoExpert.new("netlab_game.oversize", "Line over the limit",
        expert.group.MALFORMED, expert.severity.ERROR),
    refused = ProtoExpert.new("netlab_game.refused", "The server refused a line",
        expert.group.RESPONSE_CODE, expert.severity.NOTE),
}
proto.experts = { experts.oversize, experts.refused }
proto.prefs.port = Pref.uint("TCP port", DEFAULT_PORT, "The game server's port (game-lab serve --port)")

-- The Info column lists every line of a segment, " | " between them; the first replaces TCP's
-- text.
-- A segment that completes a frame reassembled from earlier segments and holds another reaches
-- the dissector twice (once with the reassembled bytes, once with the rest), so a counter reset
-- per call cannot tell a segment's first entry from a later one. The protocol column can: TCP
-- wrote its own name there, and the first entry replaces it with ours.
local function show_in_info(pinfo, text)
    if tostring(pinfo.cols.protocol) ~= "NETLAB_GAME" then
        pinfo.cols.protocol = "NETLAB_GAME"
        pinfo.cols.info = text
    else
        pinfo.cols.info:append(" | " .. text)
    end
end

-- A generated (not in the bytes as such) text field.
local function add_generated(item, field, value)
    local added = item:add(field, value)
    added:set_generated()
    return added
end

-- A client line: `command args`. Spaces around it do not count, and the command word is
-- case-insensitive (docs/protocols/game.md, "Lines").
local function dissect_client_line(item, text)
    local trimmed = text:match("^%s*(.-)%s*$")
    local word, rest = trimmed:match("^(%S+)%s*(.*)$")
    if not word then return end
    word = word:lower()
    add_generated(item, fields.command, word)
    add_generated(item, fields.args, rest)
    if (word == "move" or word == "m") and rest ~= "" then
        add_generated(item, fields.move, rest)
    end
end

-- A server line: `KEYWORD args`, or a board row `| ...`.
local function dissect_server_line(item, text)
    local row = text:match("^| ?(.*)$")
    if row then
        add_generated(item, fields.board_row, row)
        return
    end
    local word, rest = text:match("^(%S+) ?(.*)$")
    if not word then return end
    add_generated(item, fields.keyword, word)
    add_generated(item, fields.args, rest)
    if ABOUT_A_ROOM[word] then
        local room = rest:match("^(%S+)")
        if room then add_generated(item, fields.room, room) end
    end
    if word == "MOVED" then
        -- MOVED ROOM NAME MOVE -- REPORT
        local player, move = rest:match("^%S+ (%S+) (.-) %-%- ")
        if player then
            add_generated(item, fields.player, player)
            add_generated(item, fields.move, move)
        end
    elseif word == "ERR" then
        item:add_proto_expert_info(experts.refused, "refused: " .. rest)
    end
end

function proto.dissector(tvb, pinfo, tree)
    if tvb:len() == 0 then return 0 end
    local from_client = pinfo.dst_port == pinfo.match_uint
    local sender = from_client and "client" or "server"
    local limit = from_client and MAX_CLIENT_LINE or SERVER_LINE_GIVE_UP
    local offset = 0
    local total = tvb:len()
    local bytes = tvb:raw()
    while offset < total do
        local newline = bytes:find("\n", offset + 1, true) -- 1-based position of the "\n"
        if not newline then
            if total - offset > limit + 1 then
                -- No newline within the limit: the server answers ERR and closes without
                -- reading on (docs/protocols/game.md, "Limits"); so does this dissector.
                local item = tree:add(proto, tvb(offset))
                add_generated(item, fields.sender, sender)
                item:add_proto_expert_info(experts.oversize, string.format(
                    "no newline within %d bytes", limit))
                show_in_info(pinfo, sender .. ": line over the limit")
                return total
            end
            pinfo.desegment_offset = offset
            pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
            return total
        end
        local line_len = newline - 1 - offset
        local text_len = line_len
        if text_len > 0 and bytes:byte(offset + text_len) == 13 then text_len = text_len - 1 end
        local item = tree:add(proto, tvb(offset, line_len + 1))
        add_generated(item, fields.sender, sender)
        local text = ""
        if text_len > 0 then
            local range = tvb(offset, text_len)
            item:add_packet_field(fields.line, range, ENC_UTF_8)
            text = range:string(ENC_UTF_8)
        end
        if text_len > limit then
            item:add_proto_expert_info(experts.oversize, string.format(
                "a %d-byte line exceeds the %d-byte limit", text_len, limit))
        end
        if from_client then
            dissect_client_line(item, text)
        else
            dissect_server_line(item, text)
        end
        item:append_text(": " .. text)
        show_in_info(pinfo, sender .. ": " .. text)
        offset = newline
    end
    return total
end

-- The port: registered at load time, moved when the preference changes.
local registered_port = DEFAULT_PORT
DissectorTable.get("tcp.port"):add(registered_port, proto)
function proto.prefs_changed()
    if proto.prefs.port == registered_port then return end
    local tcp_port = DissectorTable.get("tcp.port")
    if registered_port ~= 0 then tcp_port:remove(registered_port, proto) end
    registered_port = proto.prefs.port
    if registered_port ~= 0 then tcp_port:add(registered_port, proto) end
end
