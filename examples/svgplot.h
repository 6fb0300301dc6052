/* svgplot.h: a small SVG plotting helper for the finwidth examples (not part of the library).

   One figure = 1..4 panels side by side; a panel = axes (linear or log), labels, a legend below
   the axes (never over the data) and up to SVG_MAX_SERIES series, each a line or points with
   optional error bars. Axes end just past the data (points at the ends stay inside the frame),
   lines are clipped to the frame, log axes carry at least three labels, and points of different
   series at the same x are spread a few pixels apart. Every series is written as
   <g class="series" data-name="NAME"> so a test can find it by name. svg_panel_inline writes one
   panel as an <svg> element for embedding in HTML (panels then wrap to the page width).

       svg_panel p;
       svg_panel_init(&p, "Var f(t)", "step t", "N Var f");
       svg_add(&p, "theory", SVG_LINE, 0, n, t, v, NULL);
       svg_add(&p, "N = 64", SVG_POINTS, 1, n, t, v64, se64);
       svg_write("fig.svg", "title", &p, 1);

   Use it in one translation unit (the functions are static inline: unused ones cost nothing and
   raise no warning). Non-finite values and, on log
   axes, values <= 0 are skipped. svg_write returns 0 on success, -1 if the file cannot be
   written. */
#ifndef SVGPLOT_H
#define SVGPLOT_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SVG_MAX_SERIES 12
#define SVG_PANEL_W 460.0
#define SVG_PANEL_H 300.0

enum { SVG_LINE = 0, SVG_POINTS = 1, SVG_DASHED = 2 };

typedef struct svg_series {
    const char *name;
    int style, color, n;
    const double *x, *y, *err;   /* err may be NULL; the arrays must outlive svg_write */
} svg_series;

typedef struct svg_panel {
    const char *title, *xlabel, *ylabel;
    int logx, logy, n_series;
    int legend_out;   /* accepted for compatibility: every legend now sits below the axes */
    svg_series s[SVG_MAX_SERIES];
} svg_panel;

static const char *const svg_palette[8] = {"#1f4e9c", "#d1495b", "#2a9d55", "#e69f00",
                                           "#7b3fa0", "#555555", "#00a3b4", "#a0522d"};

static inline void svg_panel_init(svg_panel *p, const char *title, const char *xlabel, const char *ylabel)
{
    memset(p, 0, sizeof *p);
    p->title = title; p->xlabel = xlabel; p->ylabel = ylabel;
}

/* Adds a series (silently ignored beyond SVG_MAX_SERIES). color indexes the palette. */
static inline void svg_add(svg_panel *p, const char *name, int style, int color, int n, const double *x,
                    const double *y, const double *err)
{
    svg_series *s;
    if (p->n_series >= SVG_MAX_SERIES) return;
    s = &p->s[p->n_series++];
    s->name = name; s->style = style; s->color = color; s->n = n; s->x = x; s->y = y; s->err = err;
}

/* XML-escaped text. */
static inline void svg_text(FILE *fp, const char *t)
{
    for (; t != NULL && *t; ++t) {
        if (*t == '<') fputs("&lt;", fp);
        else if (*t == '>') fputs("&gt;", fp);
        else if (*t == '&') fputs("&amp;", fp);
        else if (*t == '"') fputs("&quot;", fp);
        else fputc(*t, fp);
    }
}

static inline int svg_ok(double v, int logscale) { return isfinite(v) && (!logscale || v > 0); }

/* Data range of one axis over all series (with error bars on y); lo = hi = 0 when empty. */
static inline void svg_range(const svg_panel *p, int axis, double *lo, double *hi)
{
    const int lg = axis ? p->logy : p->logx;
    int k, i, any = 0;
    *lo = *hi = 0;
    for (k = 0; k < p->n_series; ++k)
        for (i = 0; i < p->s[k].n; ++i) {
            double v = axis ? p->s[k].y[i] : p->s[k].x[i], e = axis && p->s[k].err ? p->s[k].err[i] : 0, a, b;
            if (!svg_ok(p->s[k].x[i], p->logx) || !svg_ok(p->s[k].y[i], p->logy)) continue;
            if (!isfinite(e)) e = 0;
            a = v - e; b = v + e;
            if (lg && a <= 0) a = v;
            if (!any || a < *lo) *lo = a;
            if (!any || b > *hi) *hi = b;
            any = 1;
        }
    if (!any) { *lo = lg ? 1 : 0; *hi = lg ? 10 : 1; }
}

/* A "nice" step (1, 2 or 5 times a power of ten) for about n ticks over [lo, hi]. */
static inline double svg_step(double lo, double hi, int n)
{
    double raw = (hi - lo) / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

typedef struct svg_axis { double lo, hi, a0, a1; int lg; } svg_axis;   /* data [lo,hi] -> pixels [a0,a1] */

static inline double svg_map(const svg_axis *a, double v)
{
    double u = a->lg ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) : (v - a->lo) / (a->hi - a->lo);
    return a->a0 + u * (a->a1 - a->a0);
}

/* The axis ends just past the data: 4% of the range on each side (on log axes, of the decades). */
static inline void svg_axis_fit(svg_axis *a, double lo, double hi, int lg)
{
    a->lg = lg;
    if (lg) {
        double l0 = log10(lo), l1 = log10(hi), pad;
        if (l1 - l0 < 0.3) { const double c = (l0 + l1) / 2; l0 = c - 0.15; l1 = c + 0.15; }
        pad = 0.04 * (l1 - l0);
        a->lo = pow(10, l0 - pad);
        a->hi = pow(10, l1 + pad);
    } else {
        double pad;
        if (hi <= lo) { double c = lo; lo = c - (c == 0 ? 1 : fabs(c) * 0.1); hi = c + (c == 0 ? 1 : fabs(c) * 0.1); }
        pad = 0.04 * (hi - lo);
        a->lo = lo - pad;
        a->hi = hi + pad;
    }
}

/* sci: the axis labels all its ticks as m e k (its range leaves 1e-2 .. 1e4), else plainly. */
static inline void svg_tick_label(FILE *fp, double v, int sci)
{
    if (sci && v != 0) {
        int e = (int)floor(log10(fabs(v)) + 1e-9);
        double m = v / pow(10, e);
        if (fabs(m - floor(m + 0.5)) < 1e-6) fprintf(fp, "%.0fe%d", m, e);
        else fprintf(fp, "%.1fe%d", m, e);
    } else {
        fprintf(fp, "%g", fabs(v) < 1e-12 ? 0.0 : v);
    }
}

/* One tick at value v: a grid line across the axes (other0 .. other1) and its label. */
static inline void svg_tick(FILE *fp, const svg_axis *a, int vertical, double v, double other0, double other1, int sci)
{
    const double pix = svg_map(a, v);
    if (vertical) {
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", other0, pix, other1, pix);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", other0 - 5, pix + 4);
    } else {
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", pix, other0, pix, other1);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", pix, other0 + 16);
    }
    svg_tick_label(fp, v, sci);
    fputs("</text>\n", fp);
}

/* The tick values inside [lo, hi]: on log axes 1 x 10^k, then 1-2-5, then 1..9 per decade until
   at least three fit, then linear steps; on linear axes a 1-2-5 step for about 5 ticks.
   Returns their count (at most cap). */
static inline int svg_tick_values(const svg_axis *a, double *v, int cap)
{
    int n = 0;
    if (a->lg) {
        static const double sets[3][9] = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
        static const int nset[3] = {1, 3, 9};
        int k;
        for (k = 0; k < 3; ++k) {
            double dec;
            n = 0;
            for (dec = pow(10, floor(log10(a->lo) + 1e-9)); dec <= a->hi * 1.0001 && n < cap; dec *= 10) {
                int j;
                for (j = 0; j < nset[k] && n < cap; ++j) {
                    const double x = dec * sets[k][j];
                    if (x >= a->lo * 0.9999 && x <= a->hi * 1.0001) v[n++] = x;
                }
            }
            if (n >= 3 && n <= 12) return n;
            if (n > 12 && k > 0) { /* too many at this density: keep the previous one if it had 3 */
                break;
            }
        }
        if (n >= 3) {   /* thin the dense set to every other tick */
            int i, m = 0;
            for (i = 0; i < n; i += 2) v[m++] = v[i];
            if (m >= 3) return m;
        }
    }
    {
        const double st = svg_step(a->lo, a->hi, 5);
        double x;
        n = 0;
        for (x = ceil(a->lo / st - 1e-9) * st; x <= a->hi + st * 1e-6 && n < cap; x += st)
            if (!a->lg || x > 0) v[n++] = fabs(x) < st * 1e-9 ? 0 : x;
    }
    return n;
}

static inline void svg_ticks(FILE *fp, const svg_axis *a, int vertical, double other0, double other1)
{
    double v[64];
    int i, sci = 0;
    const int n = svg_tick_values(a, v, 64);
    for (i = 0; i < n; ++i)
        if (v[i] != 0 && (fabs(v[i]) < 0.01 * (1 - 1e-9) || fabs(v[i]) >= 1e4)) sci = 1;
    for (i = 0; i < n; ++i) svg_tick(fp, a, vertical, v[i], other0, other1, sci);
}

/* dx: a pixel offset of the points (series sharing x values are spread apart). */
static inline void svg_series_draw(FILE *fp, const svg_panel *p, const svg_series *s, const svg_axis *ax, const svg_axis *ay,
                            double dx)
{
    const char *col = svg_palette[(s->color % 8 + 8) % 8];
    int i, pen = 0;
    fputs("<g class=\"series\" data-name=\"", fp);
    svg_text(fp, s->name);
    fputs("\">\n", fp);
    if (s->style != SVG_POINTS) {
        fprintf(fp, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s d=\"", col,
                s->style == SVG_DASHED ? " stroke-dasharray=\"6 4\"" : "");
        for (i = 0; i < s->n; ++i) {
            if (!svg_ok(s->x[i], p->logx) || !svg_ok(s->y[i], p->logy)) { pen = 0; continue; }
            fprintf(fp, "%c%.1f %.1f ", pen ? 'L' : 'M', svg_map(ax, s->x[i]), svg_map(ay, s->y[i]));
            pen = 1;
        }
        fputs("\"/>\n", fp);
    }
    for (i = 0; s->style == SVG_POINTS && i < s->n; ++i) {
        double px, py;
        if (!svg_ok(s->x[i], p->logx) || !svg_ok(s->y[i], p->logy)) continue;
        px = svg_map(ax, s->x[i]) + dx; py = svg_map(ay, s->y[i]);
        if (s->err != NULL && isfinite(s->err[i]) && s->err[i] > 0) {
            double lo = s->y[i] - s->err[i], hi = s->y[i] + s->err[i];
            if (p->logy && lo <= 0) lo = ay->lo;
            if (lo < ay->lo) lo = ay->lo;
            if (hi > ay->hi) hi = ay->hi;
            fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", px, svg_map(ay, lo), px, svg_map(ay, hi), col);
        }
        fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px, py, col);
    }
    fputs("</g>\n", fp);
}

#define SVG_LEGEND_ROW 15.0

/* The legend's column width and rows for a panel (the legend sits below the axes). */
static inline void svg_legend_shape(const svg_panel *p, double *col_w, int *cols, int *rows)
{
    size_t wmax = 0;
    int k;
    for (k = 0; k < p->n_series; ++k) wmax = strlen(p->s[k].name) > wmax ? strlen(p->s[k].name) : wmax;
    *col_w = 34 + 6.6 * (double)wmax;
    *cols = (int)((SVG_PANEL_W - 70) / *col_w);
    if (*cols < 1) *cols = 1;
    if (*cols > p->n_series) *cols = p->n_series > 0 ? p->n_series : 1;
    *rows = (p->n_series + *cols - 1) / *cols;
}

/* The panel's height: the axes plus its legend. */
static inline double svg_panel_height(const svg_panel *p)
{
    double w;
    int c, r;
    svg_legend_shape(p, &w, &c, &r);
    return SVG_PANEL_H + SVG_LEGEND_ROW * r + 12;
}

/* One panel with its left edge at x0; id makes its clip path unique in the document. */
static inline void svg_panel_draw(FILE *fp, const svg_panel *p, double x0, const char *id)
{
    const double L = x0 + 62, T = 34, B = SVG_PANEL_H - 44, R = x0 + SVG_PANEL_W - 14;
    svg_axis ax, ay;
    double lo, hi, col_w, dx;
    int k, cols, rows, npts = 0, ipt = 0;
    svg_legend_shape(p, &col_w, &cols, &rows);
    svg_range(p, 0, &lo, &hi);
    svg_axis_fit(&ax, lo, hi, p->logx);
    svg_range(p, 1, &lo, &hi);
    svg_axis_fit(&ay, lo, hi, p->logy);
    ax.a0 = L; ax.a1 = R; ay.a0 = B; ay.a1 = T;
    fprintf(fp, "<g class=\"panel\" font-family=\"sans-serif\" font-size=\"11\">\n");
    svg_ticks(fp, &ax, 0, B, T);
    svg_ticks(fp, &ay, 1, L, R);
    fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n", L, T, R - L, B - T);
    fprintf(fp, "<text x=\"%.1f\" y=\"20\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">", (L + R) / 2);
    svg_text(fp, p->title);
    fprintf(fp, "</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (L + R) / 2, B + 32);
    svg_text(fp, p->xlabel);
    fprintf(fp, "</text>\n<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">", x0 + 12, (T + B) / 2);
    svg_text(fp, p->ylabel);
    fputs("</text>\n", fp);
    fprintf(fp, "<clipPath id=\"clip-%s\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n", id, L, T, R - L, B - T);
    fprintf(fp, "<g clip-path=\"url(#clip-%s)\">\n", id);
    for (k = 0; k < p->n_series; ++k) npts += p->s[k].style == SVG_POINTS;
    for (k = 0; k < p->n_series; ++k) {
        dx = p->s[k].style == SVG_POINTS ? 5.0 * (ipt++ - (npts - 1) / 2.0) : 0;
        svg_series_draw(fp, p, &p->s[k], &ax, &ay, dx);
    }
    fputs("</g>\n", fp);
    /* legend: below the axes and their label, in columns */
    for (k = 0; k < p->n_series; ++k) {
        const double lx = L - 40 + col_w * (k % cols), ly = SVG_PANEL_H + 8 + SVG_LEGEND_ROW * (k / cols);
        const char *col = svg_palette[(p->s[k].color % 8 + 8) % 8];
        if (p->s[k].style == SVG_POINTS)
            fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", lx + 10, ly - 4, col);
        else
            fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.8\"%s/>\n", lx,
                    ly - 4, lx + 20, ly - 4, col, p->s[k].style == SVG_DASHED ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\">", lx + 26, ly);
        svg_text(fp, p->s[k].name);
        fputs("</text>\n", fp);
    }
    fputs("</g>\n", fp);
}

/* One panel as an <svg> element (for HTML); id: unique in the document. */
static inline void svg_panel_inline(FILE *fp, const svg_panel *p, const char *id)
{
    const double H = svg_panel_height(p);
    fprintf(fp, "<svg class=\"panel\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            SVG_PANEL_W, H, SVG_PANEL_W, H);
    fputs("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", fp);
    svg_panel_draw(fp, p, 0, id);
    fputs("</svg>\n", fp);
}

static inline int svg_write(const char *path, const char *title, const svg_panel *panels, int n_panels)
{
    FILE *fp = fopen(path, "w");
    double W = SVG_PANEL_W * n_panels, H = 0;
    char id[32];
    int k;
    if (fp == NULL) return -1;
    for (k = 0; k < n_panels; ++k) if (svg_panel_height(&panels[k]) > H) H = svg_panel_height(&panels[k]);
    H += 24;
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            W, H, W, H);
    fputs("<title>", fp);
    svg_text(fp, title);
    fputs("</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<g transform=\"translate(0 24)\">\n", fp);
    for (k = 0; k < n_panels; ++k) {
        snprintf(id, sizeof id, "p%d", k);
        svg_panel_draw(fp, &panels[k], SVG_PANEL_W * k, id);
    }
    fputs("</g>\n</svg>\n", fp);
    return fclose(fp) == 0 ? 0 : -1;
}

#endif /* SVGPLOT_H */
