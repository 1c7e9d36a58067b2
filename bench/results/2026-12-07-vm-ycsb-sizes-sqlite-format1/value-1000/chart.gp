# gnuplot chart.gp (run in this directory) redraws the charts.
set terminal pngcairo size 900,640 noenhanced font "sans,10"
set datafile separator "\t"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -40 scale 0
set key outside top center horizontal
set grid ytics
set bmargin 9
set output "ratio.png"
set title "Kalam: plugin / native throughput (median of 1 runs; target >= 0.97)"
set yrange [0:1.3]
plot "chart-ratio.dat" using 2:xtic(1) title columnheader(2) linecolor rgb "#1565c0", 1 with lines dashtype 3 linecolor rgb "gray40" notitle, 0.97 with lines dashtype 2 linecolor rgb "red" title "target"
set output "throughput.png"
set title "Kalam: throughput, ops/s (median; log scale)"
set logscale y
set yrange [1000:*]
plot "chart-throughput.dat" using 2:xtic(1) title columnheader(2) linecolor rgb "#90caf9", "chart-throughput.dat" using 3 title columnheader(3) linecolor rgb "#1565c0"
