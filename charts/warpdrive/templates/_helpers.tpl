{{- define "warpdrive.labels" -}}
app.kubernetes.io/name: warpdrive
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "warpdrive.selector" -}}
app.kubernetes.io/name: warpdrive
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "warpdrive.operatorImage" -}}
{{ .Values.operator.image.repository }}:{{ .Values.operator.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "warpdrive.nodeImage" -}}
{{ .Values.node.image.repository }}:{{ .Values.node.image.tag | default .Chart.AppVersion }}
{{- end -}}
