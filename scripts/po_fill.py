"""Fill empty msgstr entries of a .po file from a JSON {msgid: msgstr} map (maintainer tool)."""

import json
import re
import sys


def main(po_path, json_path):
    mapping = json.load(open(json_path, encoding="utf-8"))
    text = open(po_path, encoding="utf-8").read()
    filled = 0

    def repl(match):
        nonlocal filled
        msgid = match.group(1)
        key = msgid.encode().decode("unicode_escape").encode("latin-1").decode("utf-8") if "\\" in msgid else msgid
        if key in mapping and match.group(2) == "":
            filled += 1
            value = mapping[key].replace('"', '\\"')
            return f'msgid "{msgid}"\nmsgstr "{value}"'
        return match.group(0)

    text = re.sub(r'^msgid "(.+)"\nmsgstr "(.*)"$', repl, text, flags=re.M)
    open(po_path, "w", encoding="utf-8").write(text)
    print(f"filled {filled}")


if __name__ == "__main__":
    main(*sys.argv[1:])
