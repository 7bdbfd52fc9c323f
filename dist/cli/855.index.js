export const id = 855;
export const ids = [855];
export const modules = {

/***/ 9855:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  consoleReporter: () => (/* binding */ consoleReporter)
});

;// CONCATENATED MODULE: ./src/report/progress.ts
function formatProgress(line) {
    return `${line.stage}: ${line.pct === undefined ? '' : `${line.pct}% `}${line.amount} (${line.rate})`;
}
/**
 * Decides when a progress update is worth printing in a log: at each further 10%, or every 10 s when the
 * total is unknown or progress is slow. `reset` starts a new stage.
 */
function logThrottle(now = Date.now) {
    let started = 0;
    let lastPrint = 0;
    let lastDecile = -1;
    return {
        update(stage, done, total) {
            const t = now();
            if (started === 0)
                started = t;
            const line = measure(stage, done, total, started, t);
            const decile = line.pct === undefined ? -1 : Math.floor(line.pct / 10);
            if (decile <= lastDecile && t - lastPrint < 10_000)
                return undefined;
            lastDecile = Math.max(decile, lastDecile);
            lastPrint = t;
            return line;
        },
        /** For a redrawn terminal line: every update, with the figures, and whether to redraw now (≤ 10/s). */
        redraw(stage, done, total) {
            const t = now();
            if (started === 0)
                started = t;
            const line = measure(stage, done, total, started, t);
            if (t - lastPrint < 100 && line.pct !== 100)
                return undefined;
            lastPrint = t;
            return line;
        },
        reset() {
            started = 0;
            lastPrint = 0;
            lastDecile = -1;
        },
    };
}
function measure(stage, done, total, started, t) {
    const seconds = Math.max((t - started) / 1000, 0.001);
    return {
        stage,
        pct: total ? Math.min(100, Math.floor((done / total) * 100)) : undefined,
        amount: `${(done / 2 ** 20).toFixed(0)}${total ? `/${(total / 2 ** 20).toFixed(0)}` : ''} MiB`,
        rate: `${(done / 2 ** 20 / seconds).toFixed(0)} MiB/s`,
    };
}

// EXTERNAL MODULE: ./src/report/visible-line.ts
var visible_line = __webpack_require__(2287);
;// CONCATENATED MODULE: ./src/report/console.ts


const BAR_WIDTH = 30;
/** Plain lines for CI logs (GitLab, local runs); a redrawn progress bar on a terminal. */
function consoleReporter(opts) {
    const now = opts.now ?? Date.now;
    const write = (line) => opts.out.write(`${line}\n`);
    const throttle = logThrottle(now);
    let barDrawn = false;
    const endBar = () => {
        if (barDrawn)
            opts.out.write('\n');
        barDrawn = false;
    };
    return {
        info: (m) => write(m),
        warn: (m) => write(`warning: ${m}`),
        debug: (m) => (opts.verbose ? write(`debug: ${m}`) : undefined),
        async group(title, fn) {
            write(`==> ${title}`);
            const started = now();
            throttle.reset();
            try {
                return await fn();
            }
            finally {
                endBar();
                if (opts.verbose)
                    write(`    (${title}: ${((now() - started) / 1000).toFixed(1)}s)`);
            }
        },
        progress(stage, done, total) {
            if (!opts.tty) {
                const line = throttle.update(stage, done, total);
                if (line)
                    write(formatProgress(line));
                return;
            }
            const line = throttle.redraw(stage, done, total);
            if (!line)
                return;
            const filled = line.pct === undefined ? 0 : Math.round((line.pct / 100) * BAR_WIDTH);
            const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
            opts.out.write(`\r${stage} ${bar} ${line.pct ?? '?'}% ${line.amount} ${line.rate}   `);
            barDrawn = true;
        },
        log: (line) => write(`    ${(0,visible_line/* visibleLine */.P)(line)}`),
    };
}


/***/ })

};
