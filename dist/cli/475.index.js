export const id = 475;
export const ids = [475];
export const modules = {

/***/ 9475:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   consoleReporter: () => (/* binding */ consoleReporter)
/* harmony export */ });
/** Plain lines for CI logs (GitLab, local runs); a redrawn progress bar on a terminal. */
function consoleReporter(opts) {
    const now = opts.now ?? Date.now;
    const write = (line) => opts.out.write(`${line}\n`);
    const progress = progressPrinter(opts, now);
    return {
        info: (m) => write(m),
        warn: (m) => write(`warning: ${m}`),
        debug: (m) => (opts.verbose ? write(`debug: ${m}`) : undefined),
        async group(title, fn) {
            write(`==> ${title}`);
            const started = now();
            try {
                return await fn();
            }
            finally {
                progress.finish();
                if (opts.verbose)
                    write(`    (${title}: ${((now() - started) / 1000).toFixed(1)}s)`);
            }
        },
        progress: (stage, done, total) => progress.update(stage, done, total),
        log: (line) => write(`    ${line}`),
    };
}
/**
 * Progress in CI logs: a line per 10% or per 10 s, whichever comes first, with MiB/s. On a terminal: one
 * line redrawn at most 10 times a second.
 */
function progressPrinter(opts, now) {
    let started = 0;
    let lastPrint = 0;
    let lastDecile = -1;
    let drawn = false;
    return {
        update(stage, done, total) {
            const t = now();
            if (started === 0)
                started = t;
            const seconds = Math.max((t - started) / 1000, 0.001);
            const rate = `${(done / 2 ** 20 / seconds).toFixed(0)} MiB/s`;
            const pct = total ? Math.min(100, Math.floor((done / total) * 100)) : undefined;
            const amount = `${(done / 2 ** 20).toFixed(0)}${total ? `/${(total / 2 ** 20).toFixed(0)}` : ''} MiB`;
            if (opts.tty) {
                if (t - lastPrint < 100 && pct !== 100)
                    return;
                lastPrint = t;
                const width = 30;
                const filled = pct === undefined ? 0 : Math.round((pct / 100) * width);
                const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
                opts.out.write(`\r${stage} ${bar} ${pct ?? '?'}% ${amount} ${rate}   `);
                drawn = true;
                return;
            }
            const decile = pct === undefined ? -1 : Math.floor(pct / 10);
            if (decile > lastDecile || t - lastPrint >= 10_000) {
                lastDecile = Math.max(decile, lastDecile);
                lastPrint = t;
                opts.out.write(`${stage}: ${pct === undefined ? '' : `${pct}% `}${amount} (${rate})\n`);
            }
        },
        finish() {
            if (drawn)
                opts.out.write('\n');
            drawn = false;
            started = 0;
            lastDecile = -1;
        },
    };
}


/***/ })

};
