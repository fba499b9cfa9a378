{{/* vim: set filetype=mustache: */}}

{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "redprop.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name: <release>-<chart> unless the release name already holds the chart name. */}}
{{- define "redprop.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<suffix>, valid as a DNS label. Usage: include "redprop.componentName" (list $ "registry") */}}
{{- define "redprop.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "redprop.fullname" $root | trunc 40 | trimSuffix "-") (index . 1 | replace "_" "-") | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "redprop.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels. Usage: include "redprop.selectorLabels" (dict "root" $ "component" "registry") */}}
{{- define "redprop.selectorLabels" -}}
app.kubernetes.io/name: {{ include "redprop.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component | replace "_" "-" }}
{{- end }}
{{- end -}}

{{/* Standard labels. Usage: include "redprop.labels" (dict "root" $ "component" "registry") */}}
{{- define "redprop.labels" -}}
helm.sh/chart: {{ include "redprop.chart" .root }}
{{ include "redprop.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: redprop
redprop.io/district: {{ include "redprop.districtCode" .root | quote }}
redprop.io/role: {{ .root.Values.role }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The metadata.annotations block (commonAnnotations plus extra ones), or nothing. */}}
{{/* Usage, right after the labels block: {{- include "redprop.annotations" (dict "root" $ "extra" $map) }} */}}
{{- define "redprop.annotations" -}}
{{- $all := merge (deepCopy (default (dict) .extra)) (deepCopy (default (dict) .root.Values.commonAnnotations)) -}}
{{- if $all }}
{{ toYaml (dict "annotations" $all) | indent 2 }}
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------------------------------------- */}}
{{/* District, broker and database settings with their defaults.                                    */}}

{{- define "redprop.districtCode" -}}
{{- required "district.code is required: the GB/T 2260 six-digit code of the district this release serves, e.g. --set district.code=310101" .Values.district.code -}}
{{- end -}}

{{- define "redprop.districtName" -}}
{{- default (include "redprop.districtCode" .) .Values.district.name -}}
{{- end -}}

{{- define "redprop.rabbitmq.clusterName" -}}
{{- default (include "redprop.componentName" (list . "rabbitmq")) .Values.rabbitmq.cluster.name -}}
{{- end -}}

{{- define "redprop.rabbitmq.host" -}}
{{- if and .Values.rabbitmq.host .Values.rabbitmq.hosts -}}
{{- fail "rabbitmq.host and rabbitmq.hosts are both set: give the broker's nodes in one of them" -}}
{{- else if .Values.rabbitmq.hosts -}}
{{- join "," .Values.rabbitmq.hosts -}}
{{- else if .Values.rabbitmq.host -}}
{{- .Values.rabbitmq.host -}}
{{- else if .Values.rabbitmq.cluster.create -}}
{{- printf "%s.%s.svc" (include "redprop.rabbitmq.clusterName" .) .Release.Namespace -}}
{{- else if not .Values.existingSecret -}}
{{- fail "rabbitmq.host is required: the host of the external RabbitMQ (or set rabbitmq.cluster.create=true, or existingSecret)" -}}
{{- end -}}
{{- end -}}

{{- define "redprop.rabbitmq.vhost" -}}
{{- if .Values.rabbitmq.vhost -}}
{{- .Values.rabbitmq.vhost -}}
{{- else if eq .Values.role "city" -}}
redprop-city
{{- else -}}
{{- printf "redprop-%s" (include "redprop.districtCode" .) -}}
{{- end -}}
{{- end -}}

{{- define "redprop.rabbitmq.username" -}}
{{- default (printf "redprop-%s" (include "redprop.districtCode" .)) .Values.rabbitmq.username -}}
{{- end -}}

{{- define "redprop.rabbitmq.password" -}}
{{- required "rabbitmq.password is required (or give the credentials in an existing Secret with existingSecret)" .Values.rabbitmq.password -}}
{{- end -}}

{{/* The broker's nodes as a YAML list of host:port (a node given without a port gets rabbitmq.port). */}}
{{/* Usage: include "redprop.rabbitmq.addresses" (dict "root" $ "host" $host) */}}
{{- define "redprop.rabbitmq.addresses" -}}
{{- $port := int .root.Values.rabbitmq.port -}}
{{- $out := list -}}
{{- range $node := splitList "," .host -}}
{{- $node = trim $node -}}
{{- if $node -}}
{{- if regexMatch ":[0-9]+$" $node -}}
{{- $out = append $out $node -}}
{{- else -}}
{{- $out = append $out (printf "%s:%d" $node $port) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* One amqp[s]://user:password@host:port/vhost per node, every part URL-encoded; joined by `sep`. */}}
{{/* Usage: include "redprop.rabbitmq.nodeUris" (dict "root" $ "host" $host "vhost" $vhost "sep" ";") */}}
{{- define "redprop.rabbitmq.nodeUris" -}}
{{- $root := .root -}}
{{- $scheme := ternary "amqps" "amqp" $root.Values.rabbitmq.tls -}}
{{- $user := include "redprop.urlencode" (include "redprop.rabbitmq.username" $root) -}}
{{- $password := include "redprop.urlencode" (include "redprop.rabbitmq.password" $root) -}}
{{- $vhost := include "redprop.urlencode" .vhost -}}
{{- $uris := list -}}
{{- range $address := (include "redprop.rabbitmq.addresses" (dict "root" $root "host" .host) | fromYamlArray) -}}
{{- $uris = append $uris (printf "%s://%s:%s@%s/%s" $scheme $user $password $address $vhost) -}}
{{- end -}}
{{- join .sep $uris -}}
{{- end -}}

{{/* The services' broker URI: one URL per node joined by ";" (kombu's failover list: the services
connect to the first node that answers and move to the next when it goes). */}}
{{- define "redprop.rabbitmq.uri" -}}
{{- include "redprop.rabbitmq.nodeUris" (dict "root" . "host" (include "redprop.rabbitmq.host" .) "vhost" (include "redprop.rabbitmq.vhost" .) "sep" ";") -}}
{{- end -}}

{{/* Whether the services are given more than one broker node. */}}
{{- define "redprop.rabbitmq.multiNode" -}}
{{- if gt (len (include "redprop.rabbitmq.addresses" (dict "root" . "host" (include "redprop.rabbitmq.host" .)) | fromYamlArray)) 1 -}}
true
{{- end -}}
{{- end -}}

{{/* Percent-encode one URL part (urlquery writes a space as "+", which URL userinfo and paths keep literally). */}}
{{- define "redprop.urlencode" -}}
{{- . | urlquery | replace "+" "%20" -}}
{{- end -}}

{{- define "redprop.postgresql.username" -}}
{{- default (printf "redprop_%s" (include "redprop.districtCode" .)) .Values.postgresql.username -}}
{{- end -}}

{{/* The database URL of one service. Usage: include "redprop.postgresql.url" (list $ "registry") */}}
{{- define "redprop.postgresql.url" -}}
{{- $root := index . 0 -}}
{{- $service := index . 1 -}}
{{- $v := $root.Values.postgresql -}}
{{- $host := required "postgresql.host is required: the host of the external PostgreSQL (or give the database URLs in an existing Secret with existingSecret)" $v.host -}}
{{- $password := required "postgresql.password is required (or give the database URLs in an existing Secret with existingSecret)" $v.password -}}
{{- $prefix := default (printf "redprop_%s_" (include "redprop.districtCode" $root)) $v.databasePrefix -}}
{{- printf "postgresql://%s:%s@%s:%d/%s%s?sslmode=%s" (include "redprop.urlencode" (include "redprop.postgresql.username" $root)) (include "redprop.urlencode" $password) $host (int $v.port) $prefix $service $v.sslmode -}}
{{- end -}}

{{- define "redprop.secretName" -}}
{{- default (include "redprop.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "redprop.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "redprop.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* ---------------------------------------------------------------------------------------------- */}}
{{/* Services: serviceDefaults deep-merged with each entry of services and pluginServices.           */}}

{{/* Deep merge .src into .dst in place; unlike sprig's mergeOverwrite, false, 0 and "" do override. */}}
{{- define "redprop.deepMerge" -}}
{{- $dst := .dst -}}
{{- range $key, $value := .src -}}
{{- if and (kindIs "map" $value) (kindIs "map" (index $dst $key)) -}}
{{- include "redprop.deepMerge" (dict "dst" (index $dst $key) "src" $value) -}}
{{- else -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* YAML map: service name -> merged settings (every service, enabled or not), plus `name` and `plugin`. */}}
{{/* `database` and `rpc` describe the service (own database; consumes rpc-<name>) and are true unless set. */}}
{{- define "redprop.services" -}}
{{- $all := dict -}}
{{- range $name, $svc := .Values.services -}}
{{- $merged := deepCopy $.Values.serviceDefaults -}}
{{- include "redprop.deepMerge" (dict "dst" $merged "src" (deepCopy $svc)) -}}
{{- $_ := set $merged "name" $name -}}
{{- $_ := set $merged "plugin" false -}}
{{- $_ := set $all $name $merged -}}
{{- end -}}
{{- range $name, $svc := .Values.pluginServices -}}
{{- if hasKey $.Values.services $name -}}
{{- fail (printf "pluginServices.%s: %s is a first-party service; configure it under services.%s" $name $name $name) -}}
{{- end -}}
{{- $merged := deepCopy $.Values.serviceDefaults -}}
{{- include "redprop.deepMerge" (dict "dst" $merged "src" (deepCopy $svc)) -}}
{{- $_ := set $merged "name" $name -}}
{{- $_ := set $merged "plugin" true -}}
{{- $_ := set $all $name $merged -}}
{{- end -}}
{{- range $name, $svc := $all -}}
{{- range $key := list "database" "rpc" -}}
{{- if not (hasKey $svc $key) -}}
{{- $_ := set $svc $key true -}}
{{- end -}}
{{- end -}}
{{- if not (kindIs "map" $svc.options) -}}
{{- $_ := set $svc "options" dict -}}
{{- end -}}
{{- end -}}
{{- toYaml $all -}}
{{- end -}}

{{/* YAML map of the enabled services only. */}}
{{- define "redprop.enabledServices" -}}
{{- $enabled := dict -}}
{{- range $name, $svc := (include "redprop.services" . | fromYaml) -}}
{{- if $svc.enabled -}}
{{- $_ := set $enabled $name $svc -}}
{{- end -}}
{{- end -}}
{{- $ports := dict -}}
{{- range $name, $svc := $enabled -}}
{{- $port := toString (int $svc.metricsPort) -}}
{{- if hasKey $ports $port -}}
{{- fail (printf "services %s and %s both use metricsPort %s; give each enabled service its own port" (get $ports $port) $name $port) -}}
{{- end -}}
{{- $_ := set $ports $port $name -}}
{{- if and $svc.keda.enabled $svc.autoscaling.enabled -}}
{{- fail (printf "services.%s: keda.enabled and autoscaling.enabled are both true; KEDA manages its own HorizontalPodAutoscaler, so choose one" $name) -}}
{{- end -}}
{{- if and $svc.keda.enabled (include "redprop.rabbitmq.multiNode" $) -}}
{{- fail (printf "services.%s: keda.enabled reads one broker address, but rabbitmq.hosts names several nodes; give KEDA's scaler one address (a load balancer or the cluster's Service) as rabbitmq.host, or use autoscaling" $name) -}}
{{- end -}}
{{- if and $svc.keda.enabled (not $svc.rpc) -}}
{{- fail (printf "services.%s: keda.enabled scales on the queue rpc-%s, but %s consumes no RPC queue (rpc: false); use autoscaling instead" $name $name $name) -}}
{{- end -}}
{{- if $svc.httpPort -}}
{{- if eq (int $svc.httpPort) (int $svc.metricsPort) -}}
{{- fail (printf "services.%s: httpPort and metricsPort are both %d; give the HTTP API its own port" $name (int $svc.httpPort)) -}}
{{- end -}}
{{- if and (hasKey $svc.options "http_port") (ne (toString $svc.options.http_port) (toString $svc.httpPort)) -}}
{{- fail (printf "services.%s: options.http_port (%v) differs from httpPort (%v); set the port with services.%s.httpPort only" $name $svc.options.http_port $svc.httpPort $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $enabled -}}
{{- end -}}

{{/* The image of a service. Usage: include "redprop.image" (dict "root" $ "image" $svc.image) */}}
{{- define "redprop.image" -}}
{{- $img := deepCopy .root.Values.image -}}
{{- if .image -}}
{{- include "redprop.deepMerge" (dict "dst" $img "src" (deepCopy .image)) -}}
{{- end -}}
{{- $registry := default $img.registry .root.Values.global.imageRegistry -}}
{{- $tag := default .root.Chart.AppVersion (toString (default "" $img.tag)) -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag must not be latest: pin a version so every pod runs the same code" -}}
{{- end -}}
{{- $ref := ternary (printf "%s@%s" $img.repository $img.digest) (printf "%s:%s" $img.repository $tag) (not (empty $img.digest)) -}}
{{- if $registry -}}
{{- printf "%s/%s" $registry $ref -}}
{{- else -}}
{{- $ref -}}
{{- end -}}
{{- end -}}

{{/* The imagePullSecrets field, or nothing. Usage: {{- include "redprop.imagePullSecrets" (dict "root" $ "indent" 6) }} */}}
{{- define "redprop.imagePullSecrets" -}}
{{- $secrets := concat (default (list) .root.Values.global.imagePullSecrets) (default (list) .root.Values.image.pullSecrets) | uniq -}}
{{- if $secrets }}
{{- $names := list -}}
{{- range $secrets }}{{ $names = append $names (dict "name" .) }}{{ end }}
{{ toYaml (dict "imagePullSecrets" $names) | indent (int .indent) }}
{{- end }}
{{- end -}}

{{/* Environment variable name for a service's database URL. */}}
{{- define "redprop.databaseEnv" -}}
{{- printf "REDPROP_SERVICES__%s__DATABASE_URL" (upper .) -}}
{{- end -}}

{{/* Environment shared by every redprop container. */}}
{{- define "redprop.commonEnv" -}}
- name: REDPROP_CONFIG
  value: /etc/redprop/redprop.yaml
- name: HOME
  value: /tmp
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
- name: PYTHONUNBUFFERED
  value: "1"
{{- end -}}

{{/* Volumes shared by every redprop pod. Usage: include "redprop.volumes" (dict "root" $ "configMap" $name) */}}
{{- define "redprop.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.tmpVolume.sizeLimit }}
{{- end -}}

{{- define "redprop.volumeMounts" -}}
- name: config
  mountPath: /etc/redprop
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Personal data (PIPL): the key ring is a Secret the operator creates (a key in values would sit in the
release history), mounted only where it is used: the registry's pods and its migrations. */}}
{{- define "redprop.privacyDir" -}}/etc/redprop-privacy{{- end -}}

{{- define "redprop.privacySecret" -}}
{{- required "privacy.existingSecret is required: the Secret (key keys.yaml) with the key ring that encrypts residents' phone numbers and ID cards at rest (docs/deploy.md, Personal data)" .Values.privacy.existingSecret -}}
{{- end -}}

{{- define "redprop.privacyVolume" -}}
- name: privacy-keys
  secret:
    secretName: {{ include "redprop.privacySecret" . }}
    defaultMode: 0440
    items:
      - key: keys.yaml
        path: keys.yaml
{{- end -}}

{{- define "redprop.privacyMount" -}}
- name: privacy-keys
  mountPath: {{ include "redprop.privacyDir" . }}
  readOnly: true
{{- end -}}

{{/* redprop.yaml, the settings file the services read (credentials come from the environment). */}}
{{- define "redprop.configFile" -}}
{{- $services := dict -}}
{{- range $name, $svc := (include "redprop.services" . | fromYaml) -}}
{{- $entry := dict "enabled" $svc.enabled "max_workers" (int $svc.maxWorkers) "metrics_port" (int $svc.metricsPort) -}}
{{- if $svc.plugin -}}
{{- /* Not installed in the suite's image: `external` tells its pods that this is no typo. */ -}}
{{- $_ := set $entry "external" true -}}
{{- end -}}
{{- $options := deepCopy $svc.options -}}
{{- if $svc.httpPort -}}
{{- $_ := set $options "http_port" (int $svc.httpPort) -}}
{{- end -}}
{{- /* Ticketing's calendar settings from `calendar`; its other options stay verbatim (60 is the service's default). */ -}}
{{- if and (eq $name "ticketing") (or $.Values.calendar.years (ne (int $.Values.calendar.warningDays) 60)) -}}
{{- $_ := set $options "calendar_warning_days" (int $.Values.calendar.warningDays) -}}
{{- end -}}
{{- if and (eq $name "ticketing") $.Values.calendar.years -}}
{{- $_ := set $options "calendar_file" "/etc/redprop/calendar.yaml" -}}
{{- end -}}
{{- /* The gateway's photo store from `photos` (other photo options, e.g. max_bytes, stay verbatim). */ -}}
{{- if eq $name "gateway" -}}
{{- $_ := set $options "photos" (merge (include "redprop.photoOptions" $ | fromYaml) (default dict $options.photos)) -}}
{{- end -}}
{{- if $options -}}
{{- $_ := set $entry "options" $options -}}
{{- end -}}
{{- $_ := set $services $name $entry -}}
{{- end -}}
{{- $config := dict "district" (include "redprop.districtCode" .) "district_name" (include "redprop.districtName" .) "log_level" .Values.config.logLevel "log_format" .Values.config.logFormat "data_dir" "/tmp/redprop" "services" $services -}}
{{- $plugins := deepCopy (default dict .Values.config.plugins) -}}
{{- if eq .Values.photos.store "s3" -}}
{{- $_ := set $plugins "gateway.photo_store" "s3" -}}
{{- end -}}
{{- with $plugins }}{{ $_ := set $config "plugins" . }}{{ end -}}
{{- /* The queue type comes from rabbitmq.queueType (the chart's policies and alerts follow it too). */ -}}
{{- $messaging := deepCopy (default dict .Values.config.messaging) -}}
{{- if and (hasKey $messaging "queue_type") (ne (toString $messaging.queue_type) .Values.rabbitmq.queueType) -}}
{{- fail (printf "config.messaging.queue_type (%v) differs from rabbitmq.queueType (%s); set the queue type with rabbitmq.queueType only" $messaging.queue_type .Values.rabbitmq.queueType) -}}
{{- end -}}
{{- $_ := set $messaging "queue_type" .Values.rabbitmq.queueType -}}
{{- $_ := set $config "messaging" $messaging -}}
{{- if hasKey (include "redprop.enabledServices" . | fromYaml) "registry" -}}
{{- $privacy := dict "key_file" (printf "%s/keys.yaml" (include "redprop.privacyDir" .)) -}}
{{- $_ := include "redprop.privacySecret" . -}}
{{- with .Values.privacy.currentKey }}{{ $_ := set $privacy "current_key" . }}{{ end -}}
{{- $_ := set $config "privacy" $privacy -}}
{{- end -}}
# redprop settings for {{ include "redprop.districtName" . }} ({{ .Values.role }} release {{ .Release.Name }}).
# Credentials are not here: REDPROP_AMQP_URI and REDPROP_SERVICES__<NAME>__DATABASE_URL come from a Secret.
{{- with .Values.calendar.years }}
# calendar.yaml sha256 {{ include "redprop.calendarFile" $ | sha256sum }} (a new notice restarts the pods)
{{- end }}
{{ toYaml $config }}
{{- end -}}

{{/* calendar.yaml: the State Council holiday notices of `calendar.years` (ticketing's calendar_file). */}}
{{- define "redprop.calendarFile" -}}
# Holidays and adjusted working days (调休) by year, from the State Council's notices (values: calendar.years).
{{ toYaml .Values.calendar.years }}
{{- end -}}

{{/* The ConfigMap data of the settings: redprop.yaml, and calendar.yaml when notices are given. */}}
{{- define "redprop.configData" -}}
redprop.yaml: |
  {{- include "redprop.configFile" . | nindent 2 }}
{{- if .Values.calendar.years }}
calendar.yaml: |
  {{- include "redprop.calendarFile" . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The Secret's data (credentials). */}}
{{- define "redprop.secretData" -}}
amqp-uri: {{ include "redprop.rabbitmq.uri" . | b64enc | quote }}
{{- range $name, $svc := (include "redprop.enabledServices" . | fromYaml) }}
{{- if $svc.database }}
{{ $name }}-database-url: {{ include "redprop.postgresql.url" (list $ $name) | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Whether a monitoring piece is on: enabled true, or auto and the cluster serves its API. */}}
{{/* Usage: include "redprop.monitoringEnabled" (dict "root" $ "enabled" .Values.metrics.serviceMonitor.enabled "api" "monitoring.coreos.com/v1/ServiceMonitor") */}}
{{- define "redprop.monitoringEnabled" -}}
{{- $enabled := toString .enabled -}}
{{- if or (eq $enabled "true") (and (eq $enabled "auto") (.root.Capabilities.APIVersions.Has .api)) -}}
true
{{- end -}}
{{- end -}}

{{/* The RabbitmqCluster that topology resources belong to. */}}
{{- define "redprop.rabbitmq.clusterReference" -}}
rabbitmqClusterReference:
  {{- $name := .Values.rabbitmq.topology.clusterReference.name -}}
  {{- if and (not $name) .Values.rabbitmq.cluster.create }}
  {{- $name = include "redprop.rabbitmq.clusterName" . }}
  {{- end }}
  name: {{ required "rabbitmq.topology.clusterReference.name is required: the RabbitmqCluster that holds this release's vhost" $name }}
  namespace: {{ default .Release.Namespace .Values.rabbitmq.topology.clusterReference.namespace }}
{{- end -}}


{{/* Queue names the policies and alerts select (shared/redprop/messaging: events.py, wire.py). */}}
{{/* An event handler's queue, evt-<source>--<service>.<handler>, not its `.retry` holding queue. */}}
{{- define "redprop.rabbitmq.eventQueuePattern" -}}
^evt-[^.]+--[^.]+\.[^.]+$
{{- end -}}

{{- define "redprop.rabbitmq.deadLetterQueuePattern" -}}
^redprop\.dlq\.[^.]+$
{{- end -}}


{{/* Photos on tickets: the gateway's photo store (values `photos`). The filesystem store keeps them on a
PersistentVolumeClaim mounted in the gateway's pods; the s3 store in a bucket, its key from an existing Secret. */}}
{{- define "redprop.photosDir" -}}/var/lib/redprop/photos{{- end -}}

{{- define "redprop.photosClaim" -}}
{{- default (printf "%s-photos" (include "redprop.fullname" .)) .Values.photos.volume.existingClaim -}}
{{- end -}}

{{/* services.gateway.options.photos, as YAML. */}}
{{- define "redprop.photoOptions" -}}
{{- $p := .Values.photos -}}
{{- if eq $p.store "s3" -}}
{{- $_ := required "photos.s3.bucket is required with photos.store=s3: the bucket the gateway keeps ticket photos in" $p.s3.bucket -}}
{{- $_ := required "photos.s3.existingSecret is required with photos.store=s3: the Secret with the bucket's access key (docs/deploy.md, Photos)" $p.s3.existingSecret -}}
{{- $s3 := dict "bucket" $p.s3.bucket "region" $p.s3.region "addressing_style" $p.s3.addressingStyle -}}
{{- with $p.s3.endpointUrl }}{{ $_ := set $s3 "endpoint_url" . }}{{ end -}}
{{- with $p.s3.prefix }}{{ $_ := set $s3 "prefix" . }}{{ end -}}
{{- toYaml (dict "s3" $s3) -}}
{{- else -}}
{{- toYaml (dict "path" (include "redprop.photosDir" .)) -}}
{{- end -}}
{{- end -}}

{{/* The gateway's environment for its photo store: the s3 store's access key (never in redprop.yaml). */}}
{{- define "redprop.photosEnv" -}}
{{- if eq .Values.photos.store "s3" -}}
- name: PHOTOS_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.photos.s3.existingSecret }}
      key: {{ .Values.photos.s3.accessKeyIdKey }}
- name: PHOTOS_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.photos.s3.existingSecret }}
      key: {{ .Values.photos.s3.secretAccessKeyKey }}
{{- end -}}
{{- end -}}

{{/* The gateway's OIDC client secret (values `oidc`), in the variable its settings name (never in redprop.yaml). */}}
{{- define "redprop.oidcEnv" -}}
{{- with .Values.oidc.existingSecret -}}
{{- $oidc := default dict (default dict $.Values.services.gateway.options).oidc -}}
- name: {{ default "OIDC_CLIENT_SECRET" $oidc.client_secret_env }}
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.oidc.clientSecretKey }}
{{- end -}}
{{- end -}}

{{- define "redprop.photosVolume" -}}
{{- if eq .Values.photos.store "filesystem" -}}
- name: photos
  persistentVolumeClaim:
    claimName: {{ include "redprop.photosClaim" . }}
{{- end -}}
{{- end -}}

{{- define "redprop.photosMount" -}}
{{- if eq .Values.photos.store "filesystem" -}}
- name: photos
  mountPath: {{ include "redprop.photosDir" . }}
{{- end -}}
{{- end -}}
