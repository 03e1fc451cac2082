package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
)

// Main is macsecd's main function; it returns the exit status.
func Main(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("macsecd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", DefaultConfigFile, "configuration file")
	check := fs.Bool("check", false, "validate the configuration (and read its keys) and exit; touches nothing")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: macsecd [-config FILE] [-log-format text|json]\n       macsecd -check [FILE]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch fs.NArg() {
	case 0:
	case 1:
		*configFile = fs.Arg(0)
	default:
		fs.Usage()
		return 2
	}

	cfg, err := LoadConfig(*configFile)
	if err != nil {
		fmt.Fprintf(stderr, "macsecd: configuration rejected:\n%s\n", indent(err.Error()))
		return 1
	}
	if *check {
		var names []string
		for _, p := range cfg.Ports {
			names = append(names, fmt.Sprintf("%s (%s on %s, %s, backend %s)", p.Name, p.Interface, p.Parent, p.KeyAgreement, p.Backend))
		}
		fmt.Fprintf(stderr, "%s: OK: %d port(s): %s\n", cfg.File, len(cfg.Ports), strings.Join(names, ", "))
		cfg.Zero()
		return 0
	}

	level := new(slog.LevelVar)
	level.Set(cfg.LogLevel)
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(stderr, hopts)
	if *logFormat == "json" {
		h = slog.NewJSONHandler(stderr, hopts)
	}
	log := slog.New(h)
	if err := run(cfg, log, level); err != nil {
		log.Error("macsecd exiting", "err", err)
		return 1
	}
	return 0
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// oneLine joins a multi-error onto one log line.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func notify(state string) {
	// Errors only mean "not under systemd".
	sddaemon.SdNotify(false, state)
}

func run(cfg *Config, log *slog.Logger, level *slog.LevelVar) error {
	d := New(cfg, Options{Log: log, Notify: func(s string) { notify("STATUS=" + s) }})
	ctl, err := ListenControl(cfg.ControlSocket, d, log)
	if err != nil {
		cfg.Zero()
		return err
	}
	defer ctl.Close()
	var metrics *http.Server
	if cfg.MetricsListen != "" {
		ln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			cfg.Zero()
			return fmt.Errorf("metrics endpoint: %w", err)
		}
		metrics = &http.Server{Handler: MetricsHandler(d), ReadHeaderTimeout: 5 * time.Second}
		go metrics.Serve(ln)
		log.Info("metrics endpoint listening", "addr", ln.Addr().String())
	}
	d.Start()
	log.Info("macsecd started", "config", cfg.File, "ports", len(cfg.Ports), "control_socket", cfg.ControlSocket)
	notify(sddaemon.SdNotifyReady)

	stopWatchdog := startWatchdog(d, log)
	defer stopWatchdog()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			reload(d, log, level)
			continue
		}
		log.Info("shutting down", "signal", sig.String())
		notify(sddaemon.SdNotifyStopping)
		if metrics != nil {
			metrics.Close()
		}
		d.Shutdown()
		log.Info("macsecd stopped")
		return nil
	}
	return nil
}

func reload(d *Daemon, log *slog.Logger, level *slog.LevelVar) {
	file := d.Config().File
	notify(sddaemon.SdNotifyReloading)
	defer notify(sddaemon.SdNotifyReady)
	next, err := LoadConfig(file)
	if err != nil {
		log.Error("reload rejected; keeping the running configuration", "config", file, "err", oneLine(err))
		notify("STATUS=reload rejected: " + oneLine(err))
		return
	}
	level.Set(next.LogLevel)
	r := d.Reload(next)
	log.Info("configuration reloaded", "config", file, "added", r.Added, "removed", r.Removed,
		"restarted", r.Restarted, "retuned", r.Retuned, "unchanged", r.Unchanged)
	if len(r.NeedRestart) > 0 {
		log.Warn("settings that take effect only on restart changed", "fields", r.NeedRestart)
	}
}

// startWatchdog pings systemd's watchdog at half its interval, but only
// while the daemon answers a status request: a daemon whose state lock is
// stuck stops pinging and systemd restarts it.
func startWatchdog(d *Daemon, log *slog.Logger) func() {
	interval, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := d.Status(""); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("watchdog: status failed", "err", err)
				continue
			}
			notify(sddaemon.SdNotifyWatchdog)
		}
	}()
	log.Info("systemd watchdog enabled", "interval", interval)
	return cancel
}
