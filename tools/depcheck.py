#!/usr/bin/python3
"""depcheck.py [--cc CC] [--fuzz-cc CC] [--pkgs "PC ..."] TARGET="PKG ..." ... - `make depcheck`
(run by `make test`): every header the C sources include, every Python module the tests import
and every command the tests and tools run must come from a Debian package that the make target
which compiles or runs it installs. TARGET="PKG ..." is that target's whole list (the Makefile's
DEPS_<target>); FILES below says which target compiles or runs which file.

A package counts with everything it Depends or Pre-Depends on (apt installs those with it), and
the packages every Debian root has (Essential or Priority required, what mmdebstrap's minbase
holds) count for every target. Files are mapped to packages through dpkg's database
(dpkg-query -S), headers through the compiler's own include path (cc -E -v) and pkg-config's -I,
modules as Debian's python3 finds them, commands through Debian's PATH; nothing is fetched, and
it takes about a second. A header or module found nowhere fails the check when every package of
its target is installed (so none of them ships it). A target whose packages are not all
installed here (make bench on a machine that never ran it) is checked as far as they are, and
said so. One line per miss: the files, what they need, the package that ships it and the target
whose list lacks it; exit 1 on a miss. A command a file runs only on request is named in it as
"depcheck: optional NAME".
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Which target compiles or runs a file: the first prefix that matches. run: make run / all /
# install; test: make test (make asan runs the same files); fuzz: the libFuzzer builds of
# tests/fuzz (make test compiles them too, with $(CC), as fuzz-replay); bench: make bench and
# bench-scale; soak: make soak; test-pg: make test-pg (the suite on PostgreSQL).
FILES = [
    ("lib/", ("run",)),
    ("server/", ("run",)),
    ("broker/", ("run",)),
    ("tools/run.sh", ("run",)),
    ("tools/embed.sh", ("run",)),
    ("tools/deps.sh", ("run",)),
    ("tools/pg-cluster.sh", ("test-pg", "bench-pg")),
    ("tools/test-pg.sh", ("test-pg",)),
    ("tests/unit/test_db_pg.c", ("test-pg",)),
    ("tools/bench-pg.sh", ("bench-pg",)),
    ("tools/bench", ("bench", "bench-pg")),
    ("tests/bench/", ("bench",)),
    ("tests/crash/soak.py", ("soak",)),
    ("tests/fuzz/", ("test", "fuzz")),
    ("tests/unit/", ("test",)),
    ("tests/e2e/", ("test",)),
    ("tests/interop/", ("test",)),
    ("tests/broker/", ("test",)),
    ("tests/crash/", ("test",)),
    ("tests/tessera_harness.py", ("test",)),
    ("tests/harness_", ("test",)),
    ("tests/scim_client.py", ("test",)),
    ("tests/dpop_proof.py", ("test", "bench")),
    ("tools/", ("test",)),
]
SCAN_DIRS = ("lib", "server", "broker", "tests", "tools")
SKIP_DIRS = {"node_modules", "corpus", "__pycache__", ".pytest_cache"}
C_EXT = (".c", ".h")
# project directories searched before the system for #include <...> (-I in the Makefile)
PROJECT_INCLUDE = ("lib", "lib/common", "lib/scim", "broker", "build/gen", "tests/unit",
                   "tests/fuzz")
# where a command is looked for: Debian's directories (a command only in /usr/local is not Debian's)
PATH = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
# words before the command in a shell line
SHELL_PREFIX = {"if", "then", "else", "elif", "do", "while", "until", "exec", "time", "!", "env",
                "nohup", "setsid", "command", "sudo", "xargs"}
# the shell's own (some are also programs in a package, as kill is in procps)
SHELL_BUILTIN = {"kill", "echo", "printf", "test", "[", "read", "cd", "wait", "trap", "set",
                 "export", "local", "return", "exit", "shift", "ulimit", "eval", "source", ".",
                 "type", "true", "false", "pwd", "umask", "unset", "break", "continue", "getopts",
                 "hash", "jobs", "readonly", "times", "alias", "declare", "let"}
# a command a file runs only when asked, named in it as "depcheck: optional NAME (why)"
OPTIONAL = re.compile(r'depcheck:\s*optional\s+([\w.+-]+)')


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True).stdout


def files():
    for top in SCAN_DIRS:
        for d, subdirs, names in os.walk(os.path.join(ROOT, top)):
            subdirs[:] = sorted(s for s in subdirs if s not in SKIP_DIRS)
            for n in sorted(names):
                if n.endswith(C_EXT + (".py", ".sh")):
                    yield os.path.relpath(os.path.join(d, n), ROOT)


def targets_of(path):
    for prefix, targets in FILES:
        if path.startswith(prefix):
            return targets
    return None


# ---------------------------------------------------------------- what the files need
def c_headers(text):
    return set(re.findall(r'^\s*#\s*include\s*<([^>]+)>', text, re.M))


PY_IMPORT = re.compile(r'^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w., ]+))', re.M)
PY_ARGV = re.compile(r'subprocess\.\w+\(\s*\[\s*["\']([A-Za-z0-9_.+-]+)["\']')  # run(["cmd"
PY_WHICH = re.compile(r'which\(\s*["\']([A-Za-z0-9_.+-]+)["\']\s*\)')  # shutil.which("cmd")
PY_ABS = re.compile(r'["\'](/(?:usr/)?s?bin/[A-Za-z0-9_.+-]+)["\']')  # "/usr/sbin/mosquitto"


def py_needs(text):
    mods, cmds = set(), set()
    for frm, imp in PY_IMPORT.findall(text):
        for m in ([frm] if frm else [x.split()[0] for x in imp.split(",") if x.strip()]):
            if not m.startswith("."):
                mods.add(m)
    cmds.update(PY_ARGV.findall(text), PY_WHICH.findall(text), PY_ABS.findall(text))
    return mods, cmds


def sh_commands(text):
    """The words in command position of a shell script (heredoc bodies and comments left out)."""
    cmds, heredoc = set(), None
    for line in text.splitlines():
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        m = re.search(r'<<-?\s*[\'"]?(\w+)[\'"]?', line)
        if m:
            heredoc = m.group(1)
        line = re.sub(r"'[^']*'", "''", line)      # quoted text is no command, unless it
        line = re.sub(r'"[^"$`]*"', '""', line)    # holds a $(...) or `...`
        line = re.sub(r'(^|\s)#.*', '', line)
        for seg in re.split(r'\|\||&&|[|;&`(){}]|\$\(', line):
            words = seg.split()
            while words and (words[0] in SHELL_PREFIX or words[0].startswith("-")
                             or re.match(r'^\w+=', words[0])):
                words.pop(0)
            if words and re.match(r'^"?([A-Za-z0-9_.+-]+|/(usr/)?s?bin/[A-Za-z0-9_.+-]+)"?$',
                                  words[0]) and words[0].strip('"') not in SHELL_BUILTIN:
                cmds.add(words[0].strip('"'))
    return cmds


# ---------------------------------------------------------------- dpkg's view
class Dpkg:
    def __init__(self):
        self.installed, self.deps, self.providers, self.base = set(), {}, {}, set()
        fmt = "${db:Status-Abbrev}\t${Package}\t${Essential}\t${Priority}\t${Depends}, " \
              "${Pre-Depends}\t${Provides}\n"
        for line in run(["dpkg-query", "-W", "-f", fmt]).splitlines():
            st, name, essential, prio, deps, provides = line.split("\t")
            if not st.startswith("ii"):
                continue
            self.installed.add(name)
            self.deps[name] = [[self.name(a) for a in group.split("|")]
                               for group in deps.split(",") if group.strip()]
            for p in provides.split(","):
                if p.strip():
                    self.providers.setdefault(self.name(p), set()).add(name)
            # what mmdebstrap's minbase installs: Essential, Priority required, and apt
            if essential == "yes" or prio == "required" or name == "apt":
                self.base.add(name)
        self.base = self.closure(self.base)

    @staticmethod
    def name(dep):
        return re.sub(r'\(.*?\)|:\w+', '', dep).strip()

    def has(self, pkg):
        return pkg in self.installed or bool(self.providers.get(pkg))

    def closure(self, pkgs):
        """pkgs and everything apt installs with them, as far as this machine knows them."""
        seen, queue = set(), list(pkgs)
        while queue:
            p = queue.pop()
            if p in seen:
                continue
            seen.add(p)
            queue.extend(self.providers.get(p, ()))
            for alts in self.deps.get(p, ()):
                pick = [a for a in alts if self.has(a)][:1] or alts[:1]
                queue.extend(pick)
        return seen

    def owners(self, paths):
        """{path: package} for the paths dpkg knows, trying the /usr-merged aliases too."""
        alias = {}
        for p in paths:
            for q in {p, os.path.realpath(p)}:
                alias.setdefault(q, set()).add(p)
                m = re.match(r'^/usr(/(?:s?bin|lib)/.*)', q)
                if m:
                    alias.setdefault(m.group(1), set()).add(p)
        out = {}
        if not alias:
            return out
        for line in run(["dpkg-query", "-S"] + sorted(alias)).splitlines():
            pkgs, _, path = line.partition(": ")
            if path in alias and "diversion" not in pkgs:
                for p in alias[path]:
                    out.setdefault(p, pkgs.split(",")[0].split(":")[0].strip())
        return out


# ---------------------------------------------------------------- resolving
def include_dirs(cc, pkgs):
    """The directories cc searches for #include <...>: the project's, pkg-config's -I, its own."""
    dirs = [os.path.join(ROOT, d) for d in PROJECT_INCLUDE]
    if pkgs:
        dirs += [f[2:] for f in run(["pkg-config", "--cflags-only-I"] + pkgs.split()).split()]
    err = subprocess.run([cc, "-E", "-v", "-x", "c", "/dev/null"], capture_output=True,
                         text=True).stderr if which(cc) else ""
    m = re.search(r'#include <\.\.\.> search starts here:\n(.*?)End of search list', err, re.S)
    return dirs + (m.group(1).split() if m else []), bool(m)


def which(cmd):
    if cmd.startswith("/"):
        return cmd if os.access(cmd, os.X_OK) else None
    for d in PATH:
        f = os.path.join(d, cmd)
        if os.path.isfile(f) and os.access(f, os.X_OK):
            return f
    return None


def module_file(mod):
    """The file (or package directory) a module is loaded from, found without importing it."""
    from importlib.machinery import PathFinder
    path, found = None, None
    for part in mod.split("."):
        spec = PathFinder.find_spec(part, path)
        if spec is None:
            break
        path = list(spec.submodule_search_locations or [])
        found = spec.origin or (path[:1] or [None])[0]     # a namespace package: its directory
        if not path:
            break
    return found


def needs_of(lists):
    """{(target, kind, name): [files]} for every file of FILES, and the problems met."""
    needs, problems = {}, []
    paths = list(files())
    local_py = {os.path.basename(f)[:-3] for f in paths if f.endswith(".py")}
    for f in paths:
        targets = targets_of(f)
        if targets is None:
            problems.append("%s: no make target is known for it: add it to FILES in "
                            "tools/depcheck.py" % f)
            continue
        with open(os.path.join(ROOT, f), errors="replace") as fh:
            text = fh.read()
        if f.endswith(C_EXT):
            items = {("header", h) for h in c_headers(text)}
        elif f.endswith(".py"):
            mods, cmds = py_needs(text)
            items = {("module", m) for m in mods if m.split(".")[0] not in local_py
                     and m.split(".")[0] not in sys.stdlib_module_names}
            items |= {("command", c) for c in cmds} | {("command", "/usr/bin/python3")}
        else:
            items = {("command", c) for c in sh_commands(text)}
        items -= {("command", c) for c in OPTIONAL.findall(text)}
        for t in targets:
            if t not in lists:
                problems.append("%s: target %s has no package list: pass %s=\"...\"" % (f, t, t))
                continue
            for kind, name in items:
                needs.setdefault((t, kind, name), []).append(f)
    return needs, problems


def main(argv):
    opts, lists = {"cc": "cc", "fuzz-cc": "clang", "pkgs": ""}, {}
    args = iter(argv)
    for a in args:
        if a.startswith("--"):
            k, eq, v = a[2:].partition("=")
            opts[k] = v if eq else next(args)
        else:
            t, _, pkgs = a.partition("=")
            lists[t] = pkgs.split()
    dpkg = Dpkg()
    covered = {t: dpkg.closure(p) | dpkg.base for t, p in lists.items()}
    complete = {t: all(dpkg.has(p) for p in pkgs) for t, pkgs in lists.items()}
    inc = {t: include_dirs(opts["fuzz-cc"] if t == "fuzz" else opts["cc"], opts["pkgs"])
           for t in lists}
    needs, problems = needs_of(lists)

    def what(key):
        t, kind, name = key
        fs = sorted(needs[key])
        return "%s: %s %s" % (", ".join(fs[:3]) + (" ..." if len(fs) > 3 else ""), kind,
                              "<%s>" % name if kind == "header" else name)

    # the file each need is on this machine; a command word that is none here (a shell function,
    # a word in a Python list) is left out: a missing command fails the test that runs it
    where = {}
    for key in sorted(needs):
        t, kind, name = key
        if kind == "header":
            dirs, cc_here = inc[t]
            path = next((os.path.join(d, name) for d in dirs
                         if os.path.isfile(os.path.join(d, name))), None) if cc_here else None
            if path and path.startswith(ROOT + "/"):
                continue
        elif kind == "module":
            path = module_file(name)
        else:
            path = which(name)
            if path is None:
                continue
        if path is not None:
            where[key] = path
        elif complete[t]:
            problems.append("%s is not on this machine, although every package of `make %s` "
                            "is: add the package that ships it to its list" % (what(key), t))
    owner = dpkg.owners(set(where.values()))
    for key, path in sorted(where.items()):
        t, pkg = key[0], owner.get(path)
        if pkg is None:
            problems.append("%s is %s, which no Debian package ships" % (what(key), path))
        elif pkg not in covered[t]:
            problems.append("%s comes from Debian package %s, which `make %s` does not "
                            "install: add it to its list in the Makefile" % (what(key), pkg, t))
    for t in sorted(lists):
        absent = [p for p in lists[t] if not dpkg.has(p)]
        if absent:
            print("depcheck: `make %s` is not installed here (%s): what needs those packages is "
                  "not checked" % (t, " ".join(sorted(set(absent)))))
    for p in problems:
        print("depcheck: " + p)
    print("depcheck: %d headers, modules and commands of %s checked, %d problems" %
          (len(where), " ".join(sorted(lists)), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    # modules are found as Debian's python3 finds them, whatever python started this
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit(main(sys.argv[1:]))
