# Listen-address helpers (builtins only; tested by nix/lib/tests.nix). The
# daemon takes Go "host:port" addresses (":8080", "127.0.0.1:9090",
# "[::1]:9090"); systemd's ListenStream= wants "8080", "127.0.0.1:9090" or
# "[::1]:9090" (systemd.socket(5)).
let
  inherit (builtins) match elemAt fromJSON filter;

  # parse ":8080" -> { host = ""; port = 8080; }
  parse =
    addr:
    let
      m = match "(\\[[0-9A-Fa-f:.%a-z]*]|[^:]*):([0-9]+)" addr;
      port = fromJSON (elemAt m 1);
    in
    if m == null then
      throw "listen: cannot parse listen address \"${addr}\": want host:port, e.g. \":8080\""
    else if port < 1 || port > 65535 then
      throw "listen: port ${toString port} of \"${addr}\" is outside 1-65535"
    else
      {
        host = elemAt m 0;
        inherit port;
      };

  # port "127.0.0.1:9090" -> 9090
  port = addr: (parse addr).port;
in
{
  inherit parse port;

  # privilegedPorts [ "127.0.0.1:9090" ":443" "" ] -> [ 443 ]: the ports
  # below 1024 of the addresses a process binds itself, which it may bind
  # only with CAP_NET_BIND_SERVICE; "" (a listener turned off) has none.
  privilegedPorts = addrs: filter (p: p < 1024) (map port (filter (a: a != "") addrs));

  # socketStream ":8080" -> "8080" (all addresses, IPv4 and IPv6); otherwise
  # the address unchanged.
  socketStream =
    addr:
    let
      p = parse addr;
    in
    if p.host == "" then toString p.port else addr;
}
