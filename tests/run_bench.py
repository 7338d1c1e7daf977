"""Run every benchmark of tests/bench/ and print their BENCH lines.

Each benchmark is a script that prints `BENCH <name>=<value>` lines; those
needing PostgreSQL use TRYTOND_DATABASE__URI or start a throwaway cluster
themselves.  A summary of all the figures ends the run.

    python tests/run_bench.py [name ...]
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main(names):
    folder = os.path.join(HERE, 'bench')
    scripts = sorted(f for f in os.listdir(folder)
        if f.startswith('bench_') and f.endswith('.py'))
    if names:
        scripts = [s for s in scripts if any(n in s for n in names)]
    env = dict(os.environ, PYTHONPATH=ROOT)
    figures, failed = [], []
    for script in scripts:
        print(f'=== {script}', flush=True)
        process = subprocess.Popen(
            [sys.executable, os.path.join(folder, script)], env=env,
            cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for line in process.stdout:
            print(line, end='', flush=True)
            if line.startswith('BENCH '):
                figures.append(line.strip())
        if process.wait():
            failed.append(script)
    print('=== summary')
    for line in figures:
        print(line)
    for script in failed:
        print(f'FAILED {script}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
